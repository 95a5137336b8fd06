//! Merchants' public display names (`Action::SetMerchantName`): set and
//! cleared by the merchant's home cooperative only, for merchants only.

mod common;
use common::*;
use kopnet_ledger::merchant_names::merchant_name;
use kopnet_ledger::{AccountKind, Action, MemoryStorage, Rejection};
use kopnet_primitives::PublicKey;

fn city() -> Harness<MemoryStorage> {
    Harness::new(MemoryStorage::new(), 1_000_000)
}

fn set(merchant: PublicKey, name: &str) -> Action {
    Action::SetMerchantName {
        merchant,
        name: name.to_string(),
    }
}

#[test]
fn home_cooperative_sets_renames_and_clears_a_merchant_name() {
    let mut h = city();
    let warung = h.member("warung", "pasar-makmur", AccountKind::Merchant, 0);
    assert_eq!(merchant_name(h.ledger.state(), &warung), None);
    h.run(&coop("pasar-makmur"), set(warung, "Warung Bu Sri"))
        .unwrap();
    assert_eq!(
        merchant_name(h.ledger.state(), &warung).as_deref(),
        Some("Warung Bu Sri")
    );
    h.run(&coop("pasar-makmur"), set(warung, "Warung Bu Sri 2"))
        .unwrap();
    assert_eq!(
        merchant_name(h.ledger.state(), &warung).as_deref(),
        Some("Warung Bu Sri 2")
    );
    h.run(&coop("pasar-makmur"), set(warung, "")).unwrap();
    assert_eq!(merchant_name(h.ledger.state(), &warung), None);
}

#[test]
fn only_the_home_cooperative_names_only_its_merchants() {
    let mut h = city();
    let warung = h.member("warung", "pasar-makmur", AccountKind::Merchant, 0);
    let ani = h.member("ani", "pasar-makmur", AccountKind::Member, 10_000);
    let stranger = h.member_key("nobody");
    let refused: Vec<(PublicKey, Action, &str)> = vec![
        // Another cooperative cannot name (or rename) someone else's merchant.
        (
            coop("ksp-sejahtera"),
            set(warung, "Warung Palsu"),
            "not_authorized",
        ),
        // Nor can the merchant itself, or a member.
        (warung, set(warung, "Warung Saya"), "not_authorized"),
        (ani, set(warung, "Warung Ani"), "not_authorized"),
        // Member names stay off the ledger.
        (
            coop("pasar-makmur"),
            set(ani, "Ani Lestari"),
            "invalid_action",
        ),
        (
            coop("pasar-makmur"),
            set(stranger, "Toko"),
            "unknown_account",
        ),
    ];
    for (signer, action, code) in refused {
        let root = h.ledger.state_root();
        let err = h.run(&signer, action.clone()).unwrap_err();
        assert_eq!(err.code(), code, "{action:?}");
        // Nothing but the nonce changed: no name anywhere.
        assert_ne!(h.ledger.state_root(), root);
        assert_eq!(merchant_name(h.ledger.state(), &warung), None);
        assert_eq!(merchant_name(h.ledger.state(), &ani), None);
    }
}

#[test]
fn a_bad_name_is_malformed_before_any_block() {
    let mut h = city();
    let warung = h.member("warung", "pasar-makmur", AccountKind::Merchant, 0);
    for bad in [
        "W".repeat(26),
        "Warung\u{0}".to_string(),
        "W\u{430}rung Bu Sri".to_string(),
        " Warung".to_string(),
    ] {
        let tx = h.sign(&coop("pasar-makmur"), set(warung, &bad));
        assert!(
            matches!(tx.check_format(), Err(Rejection::Malformed(_))),
            "{bad:?}"
        );
        h.signers.rewind(&coop("pasar-makmur"));
    }
}
