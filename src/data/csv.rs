// placeholder until the reader lands
use super::*;
pub fn read_dataset(p: &Path, _o: &ReadOptions) -> Result<Dataset> {
    Err(Error::Unsupported(format!("{}", p.display())))
}
pub fn read_vector(p: &Path, _o: &ReadOptions) -> Result<Vec<f64>> {
    Err(Error::Unsupported(format!("{}", p.display())))
}
