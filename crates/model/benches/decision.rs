//! The permission decision on an item 10 levels deep with local roles on 5 ancestors
//! (target: ≤ 5 µs), and the computation of its stored viewers.

use std::hint::black_box;

use beffroi_model::security::{
    Grantee, LocalRoles, Node, Permission, PermissionMap, Principal, Role, is_allowed, viewers,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn lineage_roles() -> Vec<LocalRoles> {
    (0..10)
        .map(|depth| {
            let mut l = LocalRoles::default();
            if depth % 2 == 1 {
                l.set(&Grantee::User(format!("user{depth}")), [Role::Editor]);
                l.set(&Grantee::Group(format!("group{depth}")), [Role::Reader, Role::Contributor]);
                l.set(&Grantee::Group("AuthenticatedUsers".into()), [Role::Reader]);
            }
            l
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let locals = lineage_roles();
    let lineage: Vec<Node<'_>> = locals.iter().map(|l| Node { owner: "jean", local: l, block: false }).collect();
    let private = PermissionMap::private_default();
    let marie = Principal::User {
        login: "marie".into(),
        roles: vec![Role::Member],
        groups: vec!["group3".into(), "urbanisme".into()],
    };
    let stranger = Principal::user("paul", &[Role::Member]);
    c.bench_function("is_allowed: View, 10 levels, grants on 5 ancestors (granted)", |b| {
        b.iter(|| is_allowed(black_box(&marie), black_box(&lineage), Permission::View, &private))
    });
    c.bench_function("is_allowed: Modify, 10 levels, grants on 5 ancestors (refused)", |b| {
        b.iter(|| is_allowed(black_box(&stranger), black_box(&lineage), Permission::ModifyPortalContent, &private))
    });
    c.bench_function("viewers: 10 levels, grants on 5 ancestors", |b| {
        b.iter(|| viewers(black_box(&lineage), &private))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
