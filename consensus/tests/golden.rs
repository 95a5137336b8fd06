//! Golden vectors: the exact bytes of a signed vote and a commit certificate.
//! If these change, every signature and stored certificate on a running
//! network changes meaning: treat a diff here as a protocol break.

use kopnet_consensus::{codec, CommitCertificate, Hash, Keypair, SignedVote, Vote, VoteKind};

const CHAIN: &str = "kopnet-golden";

fn precommit(seed: u8) -> SignedVote {
    let key = Keypair::from_seed([seed; 32]);
    let vote = Vote {
        height: 7,
        round: 2,
        kind: VoteKind::Precommit,
        value_id: Some(Hash::digest("kopnet golden value", b"block 7")),
        validator: key.public(),
    };
    SignedVote::sign(CHAIN, &key, vote).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn signed_vote_golden_vector() {
    let vote = precommit(1);
    vote.verify(CHAIN).unwrap();
    let bytes = codec::encode(&vote).unwrap();
    let sign_bytes = vote.vote.sign_bytes(CHAIN).unwrap();
    println!("sign bytes {}", hex(&sign_bytes));
    println!("vote {}", hex(&bytes));
    println!("hash {}", Hash::digest("kopnet golden", &bytes));
    assert_eq!(hex(&sign_bytes), SIGN_BYTES_HEX);
    assert_eq!(hex(&bytes), VOTE_HEX);
    assert_eq!(
        Hash::digest("kopnet golden", &bytes).to_hex(),
        VOTE_HASH_HEX
    );
    assert_eq!(codec::decode::<SignedVote>(&bytes).unwrap(), vote);
}

#[test]
fn commit_certificate_golden_vector() {
    let votes: Vec<SignedVote> = (1..=3).map(precommit).collect();
    let value_id = votes[0].vote.value_id.unwrap();
    let cert = CommitCertificate::from_precommits(7, 2, value_id, &votes);
    let bytes = codec::encode(&cert).unwrap();
    println!("cert {}", hex(&bytes));
    println!("hash {}", Hash::digest("kopnet golden", &bytes));
    assert_eq!(hex(&bytes), CERT_HEX);
    assert_eq!(
        Hash::digest("kopnet golden", &bytes).to_hex(),
        CERT_HASH_HEX
    );
    assert_eq!(codec::decode::<CommitCertificate>(&bytes).unwrap(), cert);
}

/// chain id (u64 length + bytes), height u64, round u32, kind u32, Some(1) + value id.
const SIGN_BYTES_HEX: &str = "0d000000000000006b6f706e65742d676f6c64656e0700000000000000020000000100000001584244d554a865420bfd2075e302781e28abff66ad7c1746cc11099f47277ae0";
const VOTE_HEX: &str = "0700000000000000020000000100000001584244d554a865420bfd2075e302781e28abff66ad7c1746cc11099f47277ae08a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c9f5d04a9e03c0bb9eed141f1b3c6e9f8c4c1d5f0c9f44f7c26b6cfa2f706d55cd4c590cd7b3263f099f939df7376ebb701cc78509dbae8d386c4ab10b54a3601";
const VOTE_HASH_HEX: &str = "6814459ca12aa9d4da36d6d6b37b92e2498ea7b294ed760ada7b7987a6563a19";
const CERT_HEX: &str = "070000000000000002000000584244d554a865420bfd2075e302781e28abff66ad7c1746cc11099f47277ae003000000000000008139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394ca53de4b5fef004b0d6aa01094097dabd5e1b62c11f366fb632c2a9674a7f933deb5c8fdc55f93f2d47232dd9ada4458bea0672fe5709f6af49ed01467df62068a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c9f5d04a9e03c0bb9eed141f1b3c6e9f8c4c1d5f0c9f44f7c26b6cfa2f706d55cd4c590cd7b3263f099f939df7376ebb701cc78509dbae8d386c4ab10b54a3601ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1c163fe1884f680f5508ddc402f9620c8c79a27c01b11be6782f4e8a68137a68c26a920105a29fd0ecb1696ed752addf12074fabacfdea25a11e24c59f7d17e0d";
const CERT_HASH_HEX: &str = "cc83ac19cb946c760282c41636a8a11630ad54ff1df42a2bc09ef7b9a7ba34fc";
