fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One file per area; frame.proto imports them all.
    for entry in std::fs::read_dir("proto")? {
        println!("cargo:rerun-if-changed={}", entry?.path().display());
    }
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["frame.proto", "bus.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
