skip-to-content = Aller au contenu
main-navigation = Navigation principale
breadcrumbs = Vous êtes ici
home = Accueil
folder-contents = Contenu du dossier
folder-empty = Ce dossier est vide.
items-count = { $count ->
    [0] Aucun élément
    [one] { $count } élément
   *[other] { $count } éléments
}
pagination = Pagination
page-previous = Page précédente
page-next = Page suivante
page-n-of-m = Page { $page } sur { $pages }
last-modified = Dernière modification le { $date }
published-on = Publié le { $date }
not-found-title = Page introuvable
not-found-text = La page demandée n'existe pas ou a été supprimée. Vérifiez l'adresse ou repartez de la page d'accueil.
bad-request-title = Requête incorrecte
unauthorized-title = Accès refusé
unauthorized-text = Vous n'avez pas accès à cette page.
error-title = Erreur
error-text = Une erreur s'est produite. Réessayez dans un instant.
unavailable-title = Service momentanément indisponible
landing-title = Beffroi
landing-intro = Cette installation de Beffroi héberge les sites suivants :
landing-empty = Aucun site n'est encore créé. Créez-en un avec la commande : beffroi site create ID --title "Titre"
footer-powered = Propulsé par Beffroi, logiciel libre sous licence EUPL.
type-page = Page
type-folder = Dossier
back-home = Retour à l'accueil
login-title = Connexion
login-field = Identifiant
password-field = Mot de passe
login-submit = Se connecter
login-failed = Identifiant ou mot de passe incorrect.
login-throttled = Trop de tentatives échouées. Réessayez dans { $seconds } secondes.
login-throttled-title = Trop de tentatives
logout-title = Déconnexion
logout-confirm = Voulez-vous vous déconnecter ?
logged-in-as = Connecté : { $name }
log-in = Se connecter
log-out = Se déconnecter
changes-saved = Modifications enregistrées.
sharing-title = Partage de « { $title } »
sharing-search = Chercher un utilisateur ou un groupe
search-submit = Chercher
sharing-caption = Qui peut faire quoi ici
sharing-who = Utilisateur ou groupe
sharing-inherit = Hériter des permissions des dossiers parents
role-inherited = Hérité d'un dossier parent
role-contributor = Peut ajouter
role-editor = Peut modifier
role-reader = Peut voir
role-reviewer = Peut publier
save = Enregistrer
group = groupe
users-groups-title = Utilisateurs et groupes
users = Utilisateurs
groups = Groupes
fullname = Nom complet
email = Courriel
roles = Rôles
state = État
enabled = Actif
disabled = Désactivé
enable = Réactiver
disable = Désactiver
add-user = Ajouter un utilisateur
add-group = Ajouter un groupe
add-member = Ajouter un membre à un groupe
group-id = Identifiant du groupe
title-field = Titre
members = Membres
toolbar = Outils
action-sharing = Partage
action-users-groups = Utilisateurs et groupes
state-label = État :
change-state = Changer l'état
comment-optional = Commentaire (facultatif)
apply = Appliquer
review-list-title = Contenus à relire
review-list-empty = Rien n'attend de relecture.
submitted-by = Créé par { $name }
action-review-list = À relire
form-has-errors = Le formulaire contient des erreurs :
required = obligatoire
cancel = Annuler
delete = Supprimer
delete-title = Supprimer « { $title } »
delete-confirm = Voulez-vous vraiment supprimer « { $title } » ?
delete-inside = { $count ->
    [one] Il contient 1 élément, qui sera supprimé aussi.
   *[other] Il contient { $count } éléments, qui seront supprimés aussi.
}
edit-title = Modifier « { $title } »
add-title = Ajouter : { $type }
action-edit = Modifier
action-delete = Supprimer
action-add = Ajouter
current-file = Fichier actuel :
event-when = Quand
event-where = Où
event-contact = Contact
event-website = Site web
event-next-dates = Prochaines dates
download-file = Télécharger { $name }
search-label = Rechercher sur le site
search-button = Rechercher
search-title = Recherche
search-results-count = { $count ->
    [0] Aucun résultat
    [one] 1 résultat
   *[other] { $count } résultats
}
search-no-results = Aucun contenu ne correspond à votre recherche. Essayez d'autres mots ou retirez un filtre.
search-sort-by = Trier par :
search-sort-relevance = pertinence
search-sort-date = date
search-filters = Filtres
search-filter-type = Type de contenu
search-filter-subject = Mots-clés
search-filter-date = Modifié depuis
search-since-day = un jour
search-since-week = une semaine
search-since-month = un mois
search-since-year = un an
edit-locked-by = { $name } modifie cet élément en ce moment. Vos changements ne pourront être enregistrés que s'il termine ou si vous reprenez la main.
edit-take-lock = Reprendre la main
edit-conflict = Quelqu'un a enregistré cet élément ({ $date }) depuis que vous avez ouvert le formulaire. Comparez les deux versions ; enregistrer à nouveau gardera la vôtre.
edit-conflict-caption = Champs modifiés entre-temps
edit-their-version = Version enregistrée
edit-your-version = Votre version
field = Champ
action-contents = Contenu
contents-title = Contenu de « { $title } »
contents-back = Retour au dossier
contents-select = Sélection
contents-select-item = Sélectionner « { $title } »
contents-col-title = Titre
contents-col-type = Type
contents-col-state = État
contents-col-modified = Modifié
contents-col-order = Ordre
contents-move-up = Monter « { $title } »
contents-move-down = Descendre « { $title } »
contents-rename = renommer
contents-cut = Couper
contents-copy = Copier
contents-paste = Coller ici
contents-clipboard = { $count ->
    [one] 1 élément
   *[other] { $count } éléments
} { $kind ->
    [cut] coupé(s), prêt(s) à coller.
   *[other] copié(s), prêt(s) à coller.
}
contents-nothing-selected = Sélectionnez d'abord un ou plusieurs éléments.
contents-clipboard-empty = Rien à coller : coupez ou copiez d'abord des éléments.
contents-delete-title = Supprimer ces éléments ?
rename-title = Renommer « { $title } »
rename-id = Identifiant (dans l'adresse)
rename-id-help = Lettres minuscules, chiffres, tirets. L'ancienne adresse redirigera vers la nouvelle.
richtext-image-prompt = Adresse de l'image (par exemple celle d'une image du site)
action-history = Historique
contents-back-item = Retour à l'élément
history-title = Historique de « { $title } »
history-revision = Version { $n }
history-view = voir
history-compare-previous = comparer avec la précédente
history-created = Création
history-revert = Revenir à la version { $n }
history-old-version = Vous regardez la version { $n }, enregistrée le { $date } par { $name }.
history-back = Retour à l'historique
history-version-title = Version { $n } de « { $title } »
history-compare-title = Différences entre les versions { $a } et { $b }
history-no-difference = Ces deux versions sont identiques.
