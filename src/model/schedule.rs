//! TEMPORARY stand-in until the real parser lands (replaced before commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(String);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError { pub message: String, pub offset: usize, pub len: usize, pub help: Option<String> }
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable { pub reason: String, pub help: Option<String> }
impl std::str::FromStr for Schedule { type Err = ScheduleError; fn from_str(s: &str) -> Result<Self, ScheduleError> { Ok(Schedule(s.to_string())) } }
impl std::fmt::Display for Schedule { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) } }
