//! The masked name a payer sees before paying by phone number: enough to
//! recognise the payee ("Sri W***"), not enough to learn a stranger's name.
//!
//! The first word is shown whole; every later word is its first letter
//! and `***`.

/// The name as a payer may see it: `"Sri Wahyuni"` → `"Sri W***"`.
pub fn masked_name(name: &str) -> String {
    let mut words = name.split_whitespace();
    let mut out = String::with_capacity(name.len());
    if let Some(first) = words.next() {
        out.push_str(first);
    }
    for word in words {
        if let Some(initial) = word.chars().next() {
            out.push(' ');
            out.push(initial);
            out.push_str("***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::masked_name;

    #[test]
    fn later_words_keep_only_their_first_letter() {
        assert_eq!(masked_name("Sri Wahyuni"), "Sri W***");
        assert_eq!(masked_name("  Budi   Santoso Putra "), "Budi S*** P***");
        assert_eq!(masked_name("Suharti"), "Suharti");
        assert_eq!(masked_name("Ñoño Élan"), "Ñoño É***");
        assert_eq!(masked_name(""), "");
    }
}
