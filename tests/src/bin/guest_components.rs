//! Prints the directory of the components build.rs made from guests/
//! (scripts/fuzz.sh hands it to the fuzz targets and seeds their corpus
//! from it).

fn main() {
    let (_, path) = smcp_tests::guests::ALL.first().expect("build.rs built the guests");
    let dir = std::path::Path::new(path).parent().expect("a component path has a directory");
    println!("{}", dir.display());
}
