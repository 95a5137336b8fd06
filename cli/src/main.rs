//! The `kopnet` binary (work in progress).
fn main() {
    eprintln!("kopnet: not built yet");
    std::process::exit(2);
}
