//! Payment-request QR payloads from the command line (the EMVCo format of
//! `kopnet_node::web::qris`):
//!
//! - `kopnet wallet qr` prints a payload that pays this wallet: by its
//!   address, or with `--phone` by the number it linked at its home
//!   cooperative (the phone alias). The number is looked up first and must
//!   be this wallet's: a code never names a number that pays someone else.
//! - `kopnet wallet pay --qr PAYLOAD` pays a scanned payload. An address
//!   is paid as it stands (the code's name is shown, marked unverified); a
//!   phone alias is looked up through the wallet's own node and its masked
//!   name confirmed before paying, as with `--to-phone`. The amount is the
//!   code's when it has one (`--amount`, if also given, must agree); a
//!   static code needs `--amount`. The memo is `--memo`, else the code's
//!   reference.

use super::directory::{self, Resolved};
use super::wallet::WalletOpts;
use crate::amount;
use crate::sender::Sender;
use anyhow::{anyhow, bail, Result};
use kopnet_node::personal::Phone;
use kopnet_node::web::qris::{Payee, PaymentRequest};

/// `kopnet wallet qr`'s arguments.
#[derive(Debug, clap::Args)]
pub struct MakeArgs {
    #[command(flatten)]
    pub wallet: WalletOpts,
    /// Name the payee by this phone number (linked to this wallet at its
    /// home cooperative) instead of by address.
    #[arg(long)]
    pub phone: Option<String>,
    /// A fixed amount (a dynamic code); without it the payer types one.
    #[arg(long, allow_hyphen_values = true)]
    pub amount: Option<String>,
    /// The name shown to the payer (1-25 printable ASCII characters).
    #[arg(long, default_value = "KOPNET")]
    pub name: String,
    /// 1-15 printable ASCII characters.
    #[arg(long, default_value = "INDONESIA")]
    pub city: String,
    /// Merchant category code, four digits.
    #[arg(long, default_value = "0000")]
    pub mcc: String,
    /// A reference label (bill or order number), at most 25 characters.
    #[arg(long)]
    pub reference: Option<String>,
}

/// Print a payload that pays this wallet.
pub async fn make(args: MakeArgs) -> Result<i32> {
    let sender = Sender::open(&args.wallet.node, &args.wallet.key)?;
    let account = super::roles::account_address(&sender).await?.to_address();
    let payee = match &args.phone {
        None => Payee::Address(account),
        Some(text) => {
            let phone = Phone::parse(text).map_err(|e| anyhow!("bad phone number: {e}"))?;
            let owner = directory::resolve(&args.wallet, phone.as_str()).await?;
            if owner.address != account {
                bail!(
                    "phone_not_yours: {} is not linked to this wallet's account {account}; ask your cooperative to link it",
                    phone.log_tail()
                );
            }
            Payee::Phone(phone.as_str().to_string())
        }
    };
    let request = PaymentRequest {
        payee,
        amount: args.amount.as_deref().map(amount::parse).transpose()?,
        name: args.name,
        city: args.city,
        mcc: args.mcc,
        reference: args.reference.filter(|r| !r.is_empty()),
    };
    let payload = request.encode().map_err(|e| anyhow!("{}: {e}", e.kind()))?;
    if crate::output::json() {
        crate::output::print_json(&serde_json::json!({ "payload": payload }));
    } else {
        say!("{payload}");
    }
    Ok(0)
}

/// What `kopnet wallet pay --qr` was told besides the payload.
#[derive(Debug)]
pub struct PayQr<'a> {
    pub payload: &'a str,
    pub amount: Option<&'a str>,
    pub memo: String,
    pub no_wait: bool,
    pub yes: bool,
}

/// Pay a scanned payload.
pub async fn pay(wallet: &WalletOpts, args: PayQr<'_>) -> Result<i32> {
    let code = PaymentRequest::parse(args.payload)
        .map_err(|e| anyhow!("the code is refused ({}): {e}", e.kind()))?;
    let value = amount_to_pay(code.amount, args.amount.map(amount::parse).transpose()?)?;
    let memo = match (args.memo.is_empty(), &code.reference) {
        (true, Some(reference)) => reference.clone(),
        _ => args.memo,
    };
    let to = match &code.payee {
        Payee::Phone(phone) => directory::resolve(wallet, phone).await?,
        Payee::Address(address) => Resolved {
            address: address.clone(),
            masked_name: format!("{:?} (the code's name, unverified)", code.name),
            cooperative: "home cooperative not shown".into(),
        },
    };
    directory::pay_resolved(wallet, &to, value, memo, args.no_wait, args.yes).await
}

/// The code's amount, or `--amount` for a static code; both must agree.
fn amount_to_pay(in_code: Option<u64>, given: Option<u64>) -> Result<u64> {
    match (in_code, given) {
        (Some(code), None) => Ok(code),
        (Some(code), Some(given)) if code == given => Ok(code),
        (Some(code), Some(given)) => bail!(
            "the code asks for {}, --amount says {}: pay what the code asks or make a new code",
            amount::format(code),
            amount::format(given)
        ),
        (None, Some(given)) => Ok(given),
        (None, None) => bail!("the code has no amount (a static code): give --amount"),
    }
}

#[cfg(test)]
mod tests {
    use super::amount_to_pay;

    #[test]
    fn the_amount_is_the_codes_or_the_payers_never_both_differing() {
        assert_eq!(amount_to_pay(Some(5), None).unwrap(), 5);
        assert_eq!(amount_to_pay(Some(5), Some(5)).unwrap(), 5);
        assert_eq!(amount_to_pay(None, Some(7)).unwrap(), 7);
        assert!(amount_to_pay(Some(5), Some(6)).is_err());
        assert!(amount_to_pay(None, None).is_err());
    }
}
