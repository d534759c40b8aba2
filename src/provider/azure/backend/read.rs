//! Reads what fnctl owns for an app+stage from Azure, as plan resources with
//! the attributes [`crate::provider::azure::resources::desired`] produces:
//! every kind's read (see `provider/azure/kinds`), one after the other in
//! [`kinds::KINDS`] order, into one [`Live`].
//!
//! The reads run in turn, not at once: a kind uses what an earlier one
//! found (the storage account's ownership, the Function App and its
//! settings), and one may stop the rest (no resource group, no Function
//! App of fnctl's: nothing under it to read). Ownership and conflicts are
//! judged in `kinds/common.rs`; the resource group is the exception: one
//! fnctl did not create is the user's, and fnctl deploys into it without
//! ever changing it.

use super::{AzureBackend, AzureError, Live};
use crate::provider::azure::kinds::{self, Reading, Then};

impl AzureBackend {
    /// Everything fnctl owns for the app+stage, as Azure reports it now.
    pub async fn read(&self) -> Result<Live, AzureError> {
        let mut reading = Reading::default();
        for kind in kinds::KINDS {
            if kind.read(self, &mut reading).await? == Then::Stop {
                break;
            }
        }
        Ok(reading.live)
    }
}
