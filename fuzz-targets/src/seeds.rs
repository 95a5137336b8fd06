//! Valid inputs for every target, made from the [`crate::city`]: where the
//! fuzzer starts (`cargo run -p kopnet-fuzz-targets --bin fuzz-seeds`
//! writes them to `fuzz/seeds/`), and what the replay test checks each
//! target accepts.

use crate::city::{coop, with_city, City, CHAIN};
use base64::Engine as _;
use kopnet_consensus::{
    codec, Evidence, Hash, Message, Proposal, SignedProposal, SignedVote, Value, Vote, VoteKind,
};
use kopnet_ledger::evidence::{evidence_root, EvidenceKind, EvidenceRecord};
use kopnet_ledger::testkit::{key_for, validator_key_for};
use kopnet_ledger::{Action, Block, CoopId};
use kopnet_node::config::{NodeConfig, Role};
use kopnet_node::web::qris::{self, Payee, PaymentRequest};
use kopnet_node::wire::{self, ConsensusGossip, SyncRequest, SyncResponse, SyncedBlock};
use serde_json::json;

/// The seeds of every target, by target name.
pub fn all() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    with_city(|city| {
        vec![
            ("tx", txs(city)),
            ("block", blocks(city)),
            ("consensus", consensus(city)),
            ("sync_request", sync_requests()),
            ("sync_response", sync_responses(city)),
            ("post_tx", post_tx(city)),
            ("post_txs", post_txs(city)),
            ("post_quote", post_quote(city)),
            ("quote", quotes(city)),
            ("post_admin_isolate", post_admin_isolate()),
            ("qris", qris_payloads(city)),
            ("config", configs()),
            ("genesis", genesis(city)),
            ("backup", backups(city)),
            ("snapshot", snapshots(city)),
        ]
    })
}

fn encoded_txs(city: &City) -> Vec<Vec<u8>> {
    city.txs.iter().filter_map(|tx| tx.encode().ok()).collect()
}

fn txs(city: &City) -> Vec<Vec<u8>> {
    encoded_txs(city)
}

fn vote(signer: &str, height: u64, kind: VoteKind, value_id: Option<Hash>) -> SignedVote {
    let key = validator_key_for(signer);
    let vote = Vote {
        height,
        round: 0,
        kind,
        value_id,
        validator: key.public(),
    };
    SignedVote::sign(CHAIN, &key, vote).expect("a vote encodes")
}

/// The city's blocks, and its first block again with a proof that a
/// validator double-signed in it.
fn blocks(city: &City) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = city
        .chain
        .iter()
        .filter_map(|(block, _)| block.encode().ok())
        .collect();
    if let Some((first, _)) = city.chain.first() {
        let offender = "ksp-sejahtera";
        let evidence = Evidence::DuplicateVote {
            first: vote(offender, 1, VoteKind::Prevote, Some(first.hash())),
            second: vote(offender, 1, VoteKind::Prevote, None),
        };
        let record = EvidenceRecord {
            offender: validator_key_for(offender).public(),
            kind: EvidenceKind::DuplicateVote,
            height: 1,
            round: 0,
            step: 0,
            proof: codec::encode(&evidence).expect("evidence encodes"),
        };
        let mut block: Block = first.clone();
        block.evidence = vec![record];
        block.header.evidence_root = evidence_root(&block.evidence);
        out.extend(block.encode().ok());
    }
    out
}

fn consensus(city: &City) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Some((block, _)) = city.chain.first() {
        let proposer = validator_key_for("ksp-sejahtera");
        let proposal = Proposal {
            height: block.header.height,
            round: 0,
            valid_round: None,
            value: Value {
                id: block.hash(),
                bytes: block.encode().expect("a block encodes"),
            },
            proposer: proposer.public(),
        };
        let signed = SignedProposal::sign(CHAIN, &proposer, proposal).expect("encodes");
        out.push(wire::encode(&ConsensusGossip::Message(Message::Proposal(
            signed,
        ))));
        for kind in [VoteKind::Prevote, VoteKind::Precommit] {
            let v = vote("pasar-makmur", 1, kind, Some(block.hash()));
            out.push(wire::encode(&ConsensusGossip::Message(Message::Vote(v))));
        }
        let nil = vote("angkot-maju", 2, VoteKind::Prevote, None);
        out.push(wire::encode(&ConsensusGossip::Message(Message::Vote(nil))));
    }
    out.push(wire::encode(&ConsensusGossip::Committed {
        height: 3,
        from: coop("taksi-bersama"),
    }));
    out
}

fn sync_requests() -> Vec<Vec<u8>> {
    [(1, 64), (5, 3), (0, 1)]
        .into_iter()
        .map(|(from, limit)| wire::encode(&SyncRequest::Blocks { from, limit }))
        .collect()
}

fn sync_responses(city: &City) -> Vec<Vec<u8>> {
    let synced: Vec<SyncedBlock> = city
        .chain
        .iter()
        .filter_map(|(block, certificate)| {
            Some(SyncedBlock {
                block: block.encode().ok()?,
                certificate: codec::encode(certificate).ok()?,
            })
        })
        .collect();
    let height = city.ledger.height();
    vec![
        wire::encode(&SyncResponse {
            height,
            blocks: synced.clone(),
        }),
        wire::encode(&SyncResponse {
            height,
            blocks: synced.into_iter().skip(1).take(1).collect(),
        }),
        wire::encode(&SyncResponse {
            height,
            blocks: vec![],
        }),
    ]
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn json_bytes(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn post_tx(city: &City) -> Vec<Vec<u8>> {
    let txs = encoded_txs(city);
    let mut out = Vec::new();
    for tx in txs.iter().take(2) {
        out.push(json_bytes(json!({ "tx": base64(tx) })));
        out.push(json_bytes(json!({ "tx": hex::encode(tx) })));
    }
    out
}

fn post_txs(city: &City) -> Vec<Vec<u8>> {
    let txs = encoded_txs(city);
    let mixed: Vec<String> = txs
        .iter()
        .enumerate()
        .map(|(i, tx)| {
            if i % 2 == 0 {
                base64(tx)
            } else {
                hex::encode(tx)
            }
        })
        .collect();
    vec![json_bytes(json!({ "txs": mixed }))]
}

fn post_quote(city: &City) -> Vec<Vec<u8>> {
    let member = city.member.to_address();
    let home = coop("ksp-sejahtera").to_address();
    let agent = CoopId::new("angkot-maju").unwrap_or_else(|_| CoopId::network());
    let quotes = [
        (
            member.clone(),
            Action::Payment {
                to: city.merchant,
                amount: 12_500,
                memo: "es teh".into(),
                idempotency_id: [9; 16],
            },
        ),
        (
            member,
            Action::CashOut {
                agent,
                amount: 50_000,
            },
        ),
        (
            home.clone(),
            Action::Mint {
                member: city.member,
                amount: 1_000,
            },
        ),
        (
            home,
            Action::Burn {
                member: city.member,
                amount: 1_000,
            },
        ),
    ];
    quotes
        .iter()
        .map(|(signer, action)| json_bytes(json!({ "signer": signer, "action": action })))
        .collect()
}

/// For the `quote` target: a signer selector (0 the member, 2 its home
/// cooperative, 5 the cash-in agent; see `http::quote_signer`) and an
/// encoded action.
fn quotes(city: &City) -> Vec<Vec<u8>> {
    let id = |slug: &str| CoopId::new(slug).unwrap_or_else(|_| CoopId::network());
    let actions = [
        (
            0u8,
            Action::Payment {
                to: city.merchant,
                amount: 12_500,
                memo: "es teh".into(),
                idempotency_id: [9; 16],
            },
        ),
        (
            0,
            Action::CashOut {
                agent: id("angkot-maju"),
                amount: 50_000,
            },
        ),
        (
            2,
            Action::Mint {
                member: city.member,
                amount: 1_000,
            },
        ),
        (
            2,
            Action::Burn {
                member: city.member,
                amount: 1_000,
            },
        ),
        (
            2,
            Action::RegisterMember {
                member: key_for("citra").public(),
                kind: kopnet_ledger::AccountKind::Member,
                tier: kopnet_ledger::KycTier::Registered,
            },
        ),
        (
            5,
            Action::CashIn {
                agent: id("taksi-bersama"),
                member: city.member,
                amount: 5_000,
            },
        ),
        (
            2,
            Action::Propose {
                action: kopnet_ledger::GovAction::SetNetDebitCap {
                    id: id("pasar-makmur"),
                    ndc: 50_000_000,
                },
            },
        ),
    ];
    actions
        .iter()
        .filter_map(|(selector, action)| {
            let mut bytes = vec![*selector];
            bytes.extend(codec::encode(action).ok()?);
            Some(bytes)
        })
        .collect()
}

fn post_admin_isolate() -> Vec<Vec<u8>> {
    vec![
        json_bytes(json!({ "isolated": true })),
        json_bytes(json!({ "isolated": false })),
    ]
}

fn qris_payloads(city: &City) -> Vec<Vec<u8>> {
    let request = PaymentRequest {
        payee: Payee::Address(city.merchant.to_address()),
        amount: Some(25_000),
        name: "Warung Bu Sri".into(),
        city: "Yogyakarta".into(),
        mcc: "5812".into(),
        reference: Some("INV-042".into()),
    };
    let plain = PaymentRequest {
        amount: None,
        reference: None,
        ..request.clone()
    };
    // A member's code by phone alias (issue 18).
    let by_phone = PaymentRequest {
        payee: Payee::Phone("+6281234567890".into()),
        ..plain.clone()
    };
    let mut out = Vec::new();
    for r in [&request, &plain, &by_phone] {
        if let Ok(payload) = r.encode() {
            // Without its CRC field: the target appends a correct one.
            out.push(payload.as_bytes()[..payload.len() - 8].to_vec());
            out.push(payload.into_bytes());
        }
    }
    // Another scheme's template before kopnet's.
    let mut body = String::from("00020101021227130009ID.CO.XYZ");
    let account = format!("0009ID.KOPNET0152{}", city.merchant.to_address());
    body.push_str(&format!("28{}{account}", account.len()));
    body.push_str("52045812530336054072500.005802ID5901A6001B");
    out.push(qris::with_crc(&body).into_bytes());
    out
}

fn configs() -> Vec<Vec<u8>> {
    let default = NodeConfig::default();
    let observer = NodeConfig {
        role: Role::Observer,
        peers: vec!["/ip4/10.0.0.2/tcp/26656".into()],
        admin_api: true,
        ..NodeConfig::default()
    };
    vec![
        default.to_toml().into_bytes(),
        observer.to_toml().into_bytes(),
        b"[http]\nconnections_max = 8\nmetrics_listen = \"127.0.0.1:9100\"\nmetrics_on_api = false\n"
            .to_vec(),
        Vec::new(),
    ]
}

fn genesis(city: &City) -> Vec<Vec<u8>> {
    vec![city.genesis.to_json().into_bytes()]
}

/// The city's snapshot at its last height, in the target's framing
/// (manifest length, manifest, its one chunk).
fn snapshots(city: &City) -> Vec<Vec<u8>> {
    use kopnet_ledger::snapshot::{export, Capture};
    let Ok(capture) = Capture::of(&city.ledger) else {
        return Vec::new();
    };
    let mut chunks = Vec::new();
    let manifest = export(&capture, city.ledger.storage(), &mut |bytes| {
        chunks.push(bytes.to_vec());
        Ok(())
    });
    match (
        manifest.ok().and_then(|m| m.encode().ok()),
        chunks.as_slice(),
    ) {
        (Some(manifest), [chunk]) => {
            let mut framed = (manifest.len() as u32).to_le_bytes().to_vec();
            framed.extend_from_slice(&manifest);
            framed.extend_from_slice(chunk);
            vec![framed]
        }
        _ => Vec::new(),
    }
}

/// Backup files: a header, a home file, the city's blocks with their
/// certificates, a member's record; and an empty one (header only).
fn backups(city: &City) -> Vec<Vec<u8>> {
    use kopnet_node::backup::create::block_payload;
    use kopnet_node::backup::format::{Kind, Writer};
    let header = br#"{"chain_id":"fuzz","height":1,"node":"kop1","role":"validator","created_ms":0,"kopnet_version":"0"}"#;
    let mut full = Writer::new(Vec::new()).expect("memory");
    let mut ok = full.section(Kind::Header, "", header).is_ok();
    ok &= full
        .section(Kind::HomeFile, "config.toml", b"role = \"validator\"\n")
        .is_ok();
    for (block, certificate) in &city.chain {
        if let (Ok(bytes), Ok(cert)) = (block.encode(), codec::encode(certificate)) {
            let payload = block_payload(&bytes, &cert);
            ok &= full
                .section(Kind::Block, &block.header.height.to_string(), &payload)
                .is_ok();
        }
    }
    ok &= full
        .section(
            Kind::Member,
            &city.merchant.to_address(),
            br#"{"name":"Sri","phone":null,"nik":null,"linked_at_ms":null,"updated_at_ms":1}"#,
        )
        .is_ok();
    let mut out = Vec::new();
    if let (true, Ok(bytes)) = (ok, full.finish()) {
        out.push(bytes);
    }
    // A backup that starts at a snapshot (format 2): the manifest and its
    // chunks before the blocks.
    let snapshot_header = br#"{"chain_id":"fuzz","height":12,"snapshot_height":10,"node":"kop1","role":"observer","created_ms":0,"kopnet_version":"0"}"#;
    let mut from_snapshot = Writer::new(Vec::new()).expect("memory");
    let mut ok = from_snapshot
        .section(Kind::Header, "", snapshot_header)
        .is_ok();
    ok &= from_snapshot
        .section(Kind::SnapshotManifest, "10", &[1; 64])
        .is_ok();
    ok &= from_snapshot
        .section(Kind::SnapshotChunk, "0", &[2; 128])
        .is_ok();
    ok &= from_snapshot
        .section(Kind::Block, "11", &block_payload(&[3; 40], &[]))
        .is_ok();
    if let (true, Ok(bytes)) = (ok, from_snapshot.finish()) {
        out.push(bytes);
    }
    let mut empty = Writer::new(Vec::new()).expect("memory");
    if empty.section(Kind::Header, "", header).is_ok() {
        if let Ok(bytes) = empty.finish() {
            out.push(bytes);
        }
    }
    out
}
