use crate::model::schedule::{Schedule, Untranslatable};
pub fn to_aws(s: &Schedule) -> Result<String, Untranslatable> { Ok(s.to_string()) }
