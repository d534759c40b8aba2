//! The blob data plane: for classic Consumption's run-from-package, upload
//! a package, hand the app a read-only URL to it, delete old ones; for
//! `remove`, whether a container holds blobs (one List Blobs of at most
//! one result); for `invoke` of a blob function, whether the event's blob
//! is there, and a sample blob when it is not.
//!
//! Every request carries a service SAS signed with the storage account key
//! (fetched through ARM's `listKeys`), so no second credential or role is
//! needed and the key itself never leaves the process. Only five blob
//! operations are used; azure_storage_blobs would bring ~100k lines of
//! generated code for them, so the SAS is signed here, with azure_core's
//! HMAC, following "Create a service SAS" (string-to-sign for signed
//! version 2020-12-06 and later).

use azure_core::auth::Secret;
use azure_core::{Method, Url};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::{AzureBackend, AzureError};
use crate::model::AzureSettings;
use crate::provider::azure::names;

/// The storage service version requests are made and signed with.
pub const STORAGE_VERSION: &str = "2022-11-02";

/// How long the app's read URL stays valid. Run-from-package fetches the
/// package whenever an instance starts, so the URL must outlive the
/// deployment; fnctl replaces it on every code change.
pub const READ_URL_LIFETIME: Duration = Duration::days(3650);

/// How long upload and delete SAS tokens live.
const WRITE_LIFETIME: Duration = Duration::hours(1);

/// Start times are back-dated so a clock a little ahead of Azure's does not
/// make a fresh token "not yet valid".
const CLOCK_SKEW: Duration = Duration::minutes(15);

/// SAS permissions, in the order the service requires (`racwdl…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Delete,
    /// List the blobs of a container (a container SAS).
    List,
}

impl Access {
    fn letters(self) -> &'static str {
        match self {
            Access::Read => "r",
            Access::Write => "cw",
            Access::Delete => "d",
            Access::List => "l",
        }
    }
}

/// What a container holds, as far as one List Blobs of one result tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    Empty,
    One,
    /// One blob listed, and a marker to more.
    Several,
}

impl Contents {
    /// Why `remove` keeps the container, in words.
    pub fn reason(self) -> &'static str {
        match self {
            Contents::Empty => "holds no blobs",
            Contents::One => "holds 1 blob",
            Contents::Several => "holds 2 or more blobs",
        }
    }
}

/// Reads a List Blobs answer (`EnumerationResults`): any `<Blob>`, and a
/// non-empty `<NextMarker>` when more follow.
pub fn list_contents(xml: &str) -> Contents {
    if !xml.contains("<Blob>") {
        return Contents::Empty;
    }
    let more = xml
        .find("<NextMarker>")
        .map(|i| &xml[i + "<NextMarker>".len()..])
        .and_then(|rest| rest.find("</NextMarker>").map(|end| rest[..end].trim()))
        .is_some_and(|marker| !marker.is_empty());
    if more {
        Contents::Several
    } else {
        Contents::One
    }
}

/// The base URL of the account's blob service: `endpoints.storage`
/// (path-style, as emulators serve it) or the public endpoint.
pub fn service_url(account: &str, az: &AzureSettings) -> String {
    match &az.endpoints.storage {
        Some(base) => base.trim_end_matches('/').to_string(),
        None => format!("https://{account}.blob.core.windows.net"),
    }
}

/// The query string of a service SAS for one blob, `container/blob`, valid
/// from `window.0` to `window.1`.
pub fn blob_sas(
    account: &str,
    key: &Secret,
    path: &str,
    access: Access,
    window: (OffsetDateTime, OffsetDateTime),
    https_only: bool,
) -> Result<String, AzureError> {
    service_sas(account, key, path, "b", access, window, https_only)
}

/// The query string of a service SAS for a whole container (`sr=c`).
pub fn container_sas(
    account: &str,
    key: &Secret,
    container: &str,
    access: Access,
    window: (OffsetDateTime, OffsetDateTime),
    https_only: bool,
) -> Result<String, AzureError> {
    service_sas(account, key, container, "c", access, window, https_only)
}

/// A service SAS for `path` (a blob `container/blob` with `sr=b`, or a
/// container with `sr=c`).
fn service_sas(
    account: &str,
    key: &Secret,
    path: &str,
    signed_resource: &str,
    access: Access,
    window: (OffsetDateTime, OffsetDateTime),
    https_only: bool,
) -> Result<String, AzureError> {
    let (start, expiry) = window;
    let fmt = |t: OffsetDateTime| {
        t.replace_nanosecond(0)
            .unwrap_or(t)
            .format(&Rfc3339)
            .unwrap_or_default()
    };
    let (st, se) = (fmt(start), fmt(expiry));
    let spr = if https_only { "https" } else { "" };
    let resource = format!("/blob/{account}/{path}");
    // sp, st, se, resource, si, sip, spr, sv, sr, snapshot, ses, rscc,
    // rscd, rsce, rscl, rsct.
    let to_sign = [
        access.letters(),
        &st,
        &se,
        &resource,
        "",
        "",
        spr,
        STORAGE_VERSION,
        signed_resource,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    let sig = azure_core::hmac::hmac_sha256(&to_sign, key).map_err(|_| AzureError::Config {
        reason: format!("the key of storage account `{account}` is not base64"),
    })?;
    let mut query = Url::parse("http://sas.invalid/").expect("static URL");
    {
        let mut q = query.query_pairs_mut();
        q.append_pair("sv", STORAGE_VERSION)
            .append_pair("sr", signed_resource)
            .append_pair("sp", access.letters())
            .append_pair("st", &st)
            .append_pair("se", &se);
        if https_only {
            q.append_pair("spr", spr);
        }
        q.append_pair("sig", &sig);
    }
    Ok(query.query().unwrap_or_default().to_string())
}

/// The name of the blob holding a package: content-addressed, so a new
/// package gets a new URL (which is what makes the app load it) and an
/// unchanged one is found where it was.
pub fn package_blob(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("fnctl-{}.zip", &hex[..hex.len().min(32)])
}

/// What a blob name keeps as it is in a URL path: letters, digits,
/// `-_.~`, and `/` between its parts.
const BLOB_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl AzureBackend {
    /// An absolute URL to `blob` in the deployment container, with a SAS.
    async fn package_url(
        &self,
        blob: &str,
        access: Access,
        lifetime: Duration,
    ) -> Result<Url, AzureError> {
        self.blob_url(names::DEPLOYMENT_CONTAINER, blob, access, lifetime)
            .await
    }

    /// An absolute URL to `container/blob` in the app's storage account,
    /// with a SAS signed over the blob's name as it is.
    async fn blob_url(
        &self,
        container: &str,
        blob: &str,
        access: Access,
        lifetime: Duration,
    ) -> Result<Url, AzureError> {
        let az = &self.settings;
        let account = names::storage_account(&self.app, az);
        let key = Secret::new(self.storage_key().await?);
        let now = OffsetDateTime::now_utc();
        let base = service_url(&account, az);
        let sas = blob_sas(
            &account,
            &key,
            &format!("{container}/{blob}"),
            access,
            (now - CLOCK_SKEW, now + lifetime),
            base.starts_with("https://"),
        )?;
        let path = percent_encoding::utf8_percent_encode(blob, BLOB_PATH);
        Url::parse(&format!("{base}/{container}/{path}?{sas}")).map_err(|e| AzureError::Config {
            reason: format!("endpoints.storage `{base}` does not make a URL: {e}"),
        })
    }

    /// Whether `container/blob` is in the app's storage account (Get Blob
    /// Properties, a HEAD with a read SAS). A container that is not there,
    /// or a name the service refuses, holds no such blob.
    pub async fn blob_exists(&self, container: &str, blob: &str) -> Result<bool, AzureError> {
        let url = self
            .blob_url(container, blob, Access::Read, WRITE_LIFETIME)
            .await?;
        let reply = self
            .arm
            .send_storage(Method::Head, url, Vec::new(), None)
            .await?;
        match reply.status {
            200..=299 => Ok(true),
            400 | 404 => Ok(false),
            _ => Err(storage_error(
                "Get Blob Properties",
                &format!("{container}/{blob}"),
                &reply,
            )),
        }
    }

    /// Writes `data` as the block blob `container/blob` (Put Blob).
    pub async fn put_blob(
        &self,
        container: &str,
        blob: &str,
        content_type: &'static str,
        data: Vec<u8>,
    ) -> Result<(), AzureError> {
        let url = self
            .blob_url(container, blob, Access::Write, WRITE_LIFETIME)
            .await?;
        let reply = self
            .arm
            .send_storage(
                Method::Put,
                url,
                vec![
                    ("x-ms-blob-type", "BlockBlob"),
                    ("content-type", content_type),
                ],
                Some(data),
            )
            .await?;
        if !(200..=299).contains(&reply.status) {
            return Err(storage_error(
                "Put Blob",
                &format!("{container}/{blob}"),
                &reply,
            ));
        }
        Ok(())
    }

    /// Uploads a package (one Put Blob: run-from-package packages are at
    /// most 1 GB, within a single request's limit) and returns the
    /// long-lived read-only URL the app is given.
    pub async fn upload_package(&self, blob: &str, zip: Vec<u8>) -> Result<String, AzureError> {
        self.put_blob(names::DEPLOYMENT_CONTAINER, blob, "application/zip", zip)
            .await?;
        self.read_url(blob).await
    }

    /// The long-lived read-only URL of a package blob, for the app.
    pub async fn read_url(&self, blob: &str) -> Result<String, AzureError> {
        Ok(self
            .package_url(blob, Access::Read, READ_URL_LIFETIME)
            .await?
            .to_string())
    }

    /// Deletes a package blob; one already gone is fine.
    pub async fn delete_package(&self, blob: &str) -> Result<(), AzureError> {
        let url = self
            .package_url(blob, Access::Delete, WRITE_LIFETIME)
            .await?;
        let reply = self
            .arm
            .send_storage(Method::Delete, url, Vec::new(), None)
            .await?;
        match reply.status {
            200..=299 | 404 => Ok(()),
            _ => Err(storage_error(
                "Delete Blob",
                &format!("{}/{blob}", names::DEPLOYMENT_CONTAINER),
                &reply,
            )),
        }
    }

    /// Whether `container` in the app's storage account holds blobs: one
    /// List Blobs with `maxresults=1`, signed with a container SAS that
    /// only lists. A container that is not there holds nothing.
    pub async fn container_contents(&self, container: &str) -> Result<Contents, AzureError> {
        let az = &self.settings;
        let account = names::storage_account(&self.app, az);
        let key = Secret::new(self.storage_key().await?);
        let now = OffsetDateTime::now_utc();
        let base = service_url(&account, az);
        let sas = container_sas(
            &account,
            &key,
            container,
            Access::List,
            (now - CLOCK_SKEW, now + WRITE_LIFETIME),
            base.starts_with("https://"),
        )?;
        let url = Url::parse(&format!(
            "{base}/{container}?restype=container&comp=list&maxresults=1&{sas}"
        ))
        .map_err(|e| AzureError::Config {
            reason: format!("endpoints.storage `{base}` does not make a URL: {e}"),
        })?;
        let reply = self
            .arm
            .send_storage(Method::Get, url, Vec::new(), None)
            .await?;
        match reply.status {
            200..=299 => Ok(list_contents(&String::from_utf8_lossy(&reply.body))),
            404 => Ok(Contents::Empty),
            _ => Err(storage_error("List Blobs", container, &reply)),
        }
    }
}

/// A storage error (XML `<Error><Code>…<Message>…`) as [`AzureError`];
/// `resource` is `container` or `container/blob`.
pub(crate) fn storage_error(
    operation: &'static str,
    resource: &str,
    reply: &super::arm::Reply,
) -> AzureError {
    let text = String::from_utf8_lossy(&reply.body);
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].trim().to_string())
    };
    let json = reply.json();
    AzureError::Arm {
        operation,
        resource: resource.to_string(),
        status: reply.status,
        code: element("Code")
            .or_else(|| {
                json.pointer("/error/code")
                    .and_then(|c| c.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default(),
        message: element("Message")
            .map(|m| m.lines().next().unwrap_or_default().to_string())
            .or_else(|| {
                json.pointer("/error/message")
                    .and_then(|c| c.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| format!("the storage service answered {}", reply.status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature for a fixed input, computed independently with
    /// Python's hmac/hashlib over the string-to-sign the service documents.
    #[test]
    fn a_read_sas_is_signed_over_the_documented_string() {
        let key = Secret::new("c2VjcmV0LXN0b3JhZ2Uta2V5LWZvci10ZXN0cw==");
        let t = |s: &str| OffsetDateTime::parse(s, &Rfc3339).unwrap();
        let q = blob_sas(
            "fnshopdev12345678",
            &key,
            "app-package/fnctl-0123.zip",
            Access::Read,
            (t("2026-12-02T10:00:00Z"), t("2036-11-30T10:00:00Z")),
            true,
        )
        .unwrap();
        assert!(q.starts_with("sv=2022-11-02&sr=b&sp=r&st=2026-12-02T10%3A00%3A00Z&se=2036-11-30T10%3A00%3A00Z&spr=https&sig="), "{q}");
        let sig = q.rsplit("sig=").next().unwrap();
        assert_eq!(sig, EXPECTED_SIG);
    }

    const EXPECTED_SIG: &str = "F0DN2Q8Re%2B8mURrAkbhfkrI9EEQYp55gQ05Rx6qMFxI%3D";

    #[test]
    fn a_container_sas_signs_the_container() {
        let key = Secret::new("c2VjcmV0LXN0b3JhZ2Uta2V5LWZvci10ZXN0cw==");
        let t = |s: &str| OffsetDateTime::parse(s, &Rfc3339).unwrap();
        let window = (t("2026-12-02T10:00:00Z"), t("2026-12-02T11:00:00Z"));
        let q = container_sas(
            "fnshopdev12345678",
            &key,
            "uploads",
            Access::List,
            window,
            true,
        )
        .unwrap();
        assert!(q.starts_with("sv=2022-11-02&sr=c&sp=l&"), "{q}");
        // The same path signed as a blob is a different signature.
        let b = blob_sas(
            "fnshopdev12345678",
            &key,
            "uploads",
            Access::List,
            window,
            true,
        )
        .unwrap();
        assert_ne!(q.rsplit("sig=").next(), b.rsplit("sig=").next());
    }

    #[test]
    fn list_blobs_answers_say_how_much_a_container_holds() {
        let empty = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="uploads"><MaxResults>1</MaxResults><Blobs/><NextMarker/></EnumerationResults>"#;
        assert_eq!(list_contents(empty), Contents::Empty);
        let one = "<EnumerationResults><Blobs><Blob><Name>a.txt</Name></Blob></Blobs><NextMarker></NextMarker></EnumerationResults>";
        assert_eq!(list_contents(one), Contents::One);
        let more = "<EnumerationResults><Blobs><Blob><Name>a.txt</Name></Blob></Blobs><NextMarker>2!12!YjIudHh0</NextMarker></EnumerationResults>";
        assert_eq!(list_contents(more), Contents::Several);
    }

    #[test]
    fn package_blobs_are_named_by_content() {
        assert_eq!(
            package_blob("sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
            "fnctl-00112233445566778899aabbccddeeff.zip"
        );
    }
}
