//! Admission precedence, table-driven: each transaction breaks several rules
//! at once and must be reported by the first one in the documented order
//! (`malformed`, `wrong_chain`, `bad_signature`, `unknown_signer`,
//! `signer_inactive`, `stale_nonce`, `future_nonce`), both when a proposer
//! builds a block and when a block carrying it is validated.

mod common;
use common::*;
use kopnet_ledger::ledger::{BlockError, BlockLimits};
use kopnet_ledger::{
    AccountKind, Action, GovAction, MemoryStorage, Transaction, TxBody, VerifyAll,
};
use kopnet_primitives::{PublicKey, Signature};

/// Which rules a case breaks (a case may break several).
#[derive(Default, Clone, Copy)]
struct Breaks {
    malformed: bool,
    wrong_chain: bool,
    bad_signature: bool,
    unknown_signer: bool,
    inactive_signer: bool,
    stale_nonce: bool,
    future_nonce: bool,
}

/// Builders for the table: each adds one broken rule.
impl Breaks {
    fn malformed(self) -> Self {
        Breaks {
            malformed: true,
            ..self
        }
    }
    fn wrong_chain(self) -> Self {
        Breaks {
            wrong_chain: true,
            ..self
        }
    }
    fn bad_signature(self) -> Self {
        Breaks {
            bad_signature: true,
            ..self
        }
    }
    fn unknown_signer(self) -> Self {
        Breaks {
            unknown_signer: true,
            ..self
        }
    }
    fn inactive_signer(self) -> Self {
        Breaks {
            inactive_signer: true,
            ..self
        }
    }
    fn stale_nonce(self) -> Self {
        Breaks {
            stale_nonce: true,
            ..self
        }
    }
    fn future_nonce(self) -> Self {
        Breaks {
            future_nonce: true,
            ..self
        }
    }
}

struct City {
    h: Harness<MemoryStorage>,
    ani: PublicKey,
    budi: PublicKey,
    stranger: PublicKey,
}

/// Ani has used nonces 1 and 2; the consumer cooperative was removed after
/// signing once.
fn city() -> City {
    let mut h = Harness::new(MemoryStorage::new(), 1_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 50_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    h.run(&ani, pay(budi, 1, 1)).unwrap();
    h.run(&ani, pay(budi, 1, 2)).unwrap();
    // Its one transaction: a window close, which no cooperative may do
    // (it still uses the nonce). The schedule closes the window.
    let refused = h.run(
        &coop("konsumen-rukun"),
        Action::CloseSettlementWindow { window: 0 },
    );
    assert_eq!(refused.unwrap_err().code(), "window_closes_on_schedule");
    assert_eq!(h.close_window(), 0);
    for slug in ["ksp-sejahtera", "pasar-makmur"] {
        h.run(&coop(slug), Action::AcknowledgeSettlement { window: 0 })
            .unwrap();
    }
    let remove = GovAction::RemoveCooperative {
        id: id("konsumen-rukun"),
    };
    h.run(&coop("ksp-sejahtera"), Action::Propose { action: remove })
        .unwrap();
    for slug in ["pasar-makmur", "angkot-maju"] {
        h.run(&coop(slug), Action::Approve { proposal: 0 }).unwrap();
    }
    assert!(!h.coop_record("konsumen-rukun").active);
    let stranger = h.member_key("stranger");
    City {
        h,
        ani,
        budi,
        stranger,
    }
}

/// A transaction that breaks exactly the rules in `breaks`.
fn craft(city: &City, breaks: Breaks) -> Transaction {
    let (signer_name, signer, next_nonce) = if breaks.unknown_signer {
        ("stranger", city.stranger, 1)
    } else if breaks.inactive_signer {
        ("konsumen-rukun", coop("konsumen-rukun"), 2)
    } else {
        ("ani", city.ani, 3)
    };
    let nonce = if breaks.stale_nonce {
        next_nonce - 1
    } else if breaks.future_nonce {
        next_nonce + 1
    } else {
        next_nonce
    };
    let chain_id = if breaks.malformed {
        "x".repeat(40) // longer than a chain id may be
    } else if breaks.wrong_chain {
        "other-city".to_string()
    } else {
        CHAIN.to_string()
    };
    let action = if breaks.inactive_signer {
        Action::CloseSettlementWindow { window: 1 }
    } else {
        pay(city.budi, 1, 9)
    };
    let body = TxBody {
        chain_id,
        signer,
        nonce,
        action,
    };
    let mut tx = Transaction::sign(body, &keypair(signer_name)).unwrap();
    if breaks.bad_signature {
        tx.signature.0[7] ^= 1;
    }
    tx
}

/// The admission code of `tx` when proposing, and when validating a block
/// that carries it; the ledger must not change.
fn codes(city: &City, tx: &Transaction) -> (&'static str, &'static str) {
    let ledger = &city.h.ledger;
    let proposer = coop("ksp-sejahtera");
    let (built, skipped) = ledger.build_block(
        std::slice::from_ref(tx),
        proposer,
        BlockLimits::default(),
        &VerifyAll,
    );
    assert!(built.txs.is_empty());
    let proposing = skipped[0].1.code();
    let mut block = built;
    block.txs = vec![tx.clone()];
    block.header.tx_count = 1;
    block.header.tx_root = kopnet_ledger::block::tx_root(&[tx.hash()]);
    let validating = match ledger.validate_block(&block, &VerifyAll) {
        Err(BlockError::InvalidTx { index: 0, reason }) => reason.code(),
        other => panic!("block with an inadmissible tx: {other:?}"),
    };
    (proposing, validating)
}

#[test]
fn admission_reports_the_first_broken_rule() {
    let city = city();
    let all = Breaks::default()
        .malformed()
        .wrong_chain()
        .bad_signature()
        .unknown_signer()
        .stale_nonce();
    let none = Breaks::default();
    // (what the transaction breaks, the code reported)
    let table: Vec<(Breaks, &str)> = vec![
        (all, "malformed"),
        (
            Breaks {
                malformed: false,
                ..all
            },
            "wrong_chain",
        ),
        // Signature before signer and nonce: a forged replay is a forgery.
        (none.bad_signature().stale_nonce(), "bad_signature"),
        (none.bad_signature().future_nonce(), "bad_signature"),
        (none.bad_signature().unknown_signer(), "bad_signature"),
        (
            none.bad_signature().inactive_signer().stale_nonce(),
            "bad_signature",
        ),
        (none.bad_signature(), "bad_signature"),
        // Signer before nonce.
        (none.unknown_signer().future_nonce(), "unknown_signer"),
        (none.inactive_signer().stale_nonce(), "signer_inactive"),
        (none.inactive_signer(), "signer_inactive"),
        (none.stale_nonce(), "stale_nonce"),
        (none.future_nonce(), "future_nonce"),
    ];
    let root = city.h.ledger.state_root();
    for (index, (breaks, expected)) in table.into_iter().enumerate() {
        let tx = craft(&city, breaks);
        let (proposing, validating) = codes(&city, &tx);
        assert_eq!(proposing, expected, "case {index}: proposing");
        assert_eq!(validating, expected, "case {index}: validating");
    }
    assert_eq!(city.h.ledger.state_root(), root);
    // The control: breaking nothing is admitted.
    let tx = craft(&city, Breaks::default());
    let (block, skipped) = city.h.ledger.build_block(
        &[tx],
        coop("ksp-sejahtera"),
        BlockLimits::default(),
        &VerifyAll,
    );
    assert!(skipped.is_empty());
    assert_eq!(block.txs.len(), 1);
}

#[test]
fn a_signer_key_that_is_not_a_curve_point_is_a_bad_signature() {
    let city = city();
    let not_a_point = (0u8..=255)
        .map(|b| PublicKey([b; 32]))
        .find(|k| k.prepare().is_err())
        .expect("some byte pattern is not a curve point");
    let tx = Transaction {
        body: TxBody {
            chain_id: CHAIN.into(),
            signer: not_a_point,
            nonce: 1,
            action: pay(city.budi, 1, 1),
        },
        signature: Signature([0; 64]),
    };
    assert_eq!(codes(&city, &tx), ("bad_signature", "bad_signature"));
    // Without the signature check, the same key is simply unknown.
    assert_eq!(
        city.h.ledger.check_admission(&tx).unwrap_err().code(),
        "unknown_signer"
    );
}
