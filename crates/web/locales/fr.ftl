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
