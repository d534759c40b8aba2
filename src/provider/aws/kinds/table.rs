//! `dynamodb_table`: the tables of `[resources.NAME]` with `kind = "table"`.
//!
//! A table is named `{app}-{stage}-{name}` ([`names::resource`]), billed on
//! demand (PAY_PER_REQUEST: no capacity to plan, nothing paid while idle)
//! and keyed as the manifest says. DynamoDB fixes a table's key when it is
//! created: a different key means a new table without the old items, so a
//! changed key is refused before any change ([`Kind::preflight`], which
//! `plan` and `deploy` both run), never carried out by replacing the table.
//! A table of that name without this app+stage's tags is a conflict, never
//! adopted. Besides the tables the manifest names, the read finds this
//! app+stage's tables by their tags (one tagging call): a table whose
//! resource left the manifest is deleted by the next deploy when it is
//! empty, and kept and reported while it holds an item. `remove` deletes
//! every table and keeps one that holds items unless told to delete data.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType as DynamoKeyType,
    ScalarAttributeType, TableDescription, TableStatus, Tag,
};
use serde_json::{json, Value};

use super::common::{
    attrs, foreign_owner, kept_dropped, owned_by_tags, owned_tags, read_each, resource_name_help,
    string_map,
};
use super::{Kind, Step};
use crate::model::resource::{KeyType, ResourceKind, Table as TableSettings, TableKey};
use crate::model::App;
use crate::plan::{Action, Conflict, Kept, Resource, ResourceId};
use crate::provider::aws::backend::apply::Progress;
use crate::provider::aws::backend::{AwsBackend, AwsError, Live, SdkResultExt};
use crate::provider::aws::names;
use crate::provider::aws::resources::tags;
use crate::provider::CodeDigests;

pub struct Table;

pub const KIND: &str = "dynamodb_table";

/// How long a deploy waits for a new table to become ACTIVE. DynamoDB
/// creates an empty on-demand table in seconds; a function that uses the
/// table right after the deploy would fail while it is still CREATING.
const ACTIVE_WAIT: Duration = Duration::from_secs(300);

const NO_TABLE: &[&str] = &["ResourceNotFoundException"];

/// `arn:aws:dynamodb:{region}:{account}:table/{name}`: what an IAM policy
/// names a table by (its indexes are `…/index/*` under it).
pub fn table_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:dynamodb:{region}:{account}:table/{name}")
}

/// DynamoDB's letter for a key type.
fn type_letter(t: KeyType) -> &'static str {
    match t {
        KeyType::String => "S",
        KeyType::Number => "N",
        KeyType::Binary => "B",
    }
}

fn key_attr(key: Option<&TableKey>) -> Value {
    key.map_or(
        Value::Null,
        |k| json!({"name": k.name, "type": type_letter(k.kind)}),
    )
}

/// The table resources of `app`: manifest name and settings.
fn tables(app: &App) -> impl Iterator<Item = (&str, &TableSettings)> {
    app.resources.values().filter_map(|r| match &r.kind {
        ResourceKind::Table(t) => Some((r.name.as_str(), t)),
        _ => None,
    })
}

fn desired_tables(app: &App) -> Vec<Resource> {
    tables(app)
        .map(|(name, t)| {
            Resource::new(KIND, names::resource(app, name))
                .attr("partition_key", key_attr(Some(&t.partition_key)))
                .attr("sort_key", key_attr(t.sort_key.as_ref()))
                .attr("billing_mode", "PAY_PER_REQUEST")
                .attr("tags", tags(app, None))
        })
        .collect()
}

/// A key attribute as people read it: `pk` (S).
fn show_key(key: &Value) -> String {
    match key {
        Value::Null => "none".into(),
        k => format!(
            "`{}` ({})",
            k["name"].as_str().unwrap_or_default(),
            k["type"].as_str().unwrap_or_default()
        ),
    }
}

/// Why a table's key cannot become what the manifest says, when it would
/// have to: the key of a live table differs from the desired one.
fn key_change(app: &App, live: &Live) -> Option<AwsError> {
    for (name, _) in tables(app) {
        let table = names::resource(app, name);
        let want = desired_tables(app)
            .into_iter()
            .find(|r| r.id.name == table)?;
        let Some(have) = live
            .resources
            .iter()
            .find(|r| r.id.kind == KIND && r.id.name == table)
        else {
            continue;
        };
        let differs = |field: &str| have.attrs.get(field) != want.attrs.get(field);
        if !differs("partition_key") && !differs("sort_key") {
            continue;
        }
        let key = |r: &Resource| {
            format!(
                "partition key {}, sort key {}",
                show_key(&r.attrs["partition_key"]),
                show_key(r.attrs.get("sort_key").unwrap_or(&Value::Null))
            )
        };
        return Some(AwsError::Api {
            operation: "plan",
            resource: format!("[resources.{name}] (DynamoDB table {table})"),
            message: format!(
                "its key would change from {} to {}; DynamoDB fixes a table's key when it is created, so only a new table without the existing items could have it, and fnctl never replaces a table holding data",
                key(have),
                key(&want)
            ),
            hint: Some(format!(
                "keep `partition_key` and `sort_key` of [resources.{name}] as deployed; or give the table a new resource name (a new, empty table; the old one stays, no longer managed by fnctl); or delete the whole stage with its data (`fnctl remove --delete-data --stage {}`) and deploy again. Nothing was changed",
                app.stage
            )),
        });
    }
    None
}

/// One table as the read found it.
enum TableRead {
    Missing,
    Found(Resource),
    Foreign(Conflict),
}

#[async_trait::async_trait]
impl Kind for Table {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        out.extend(desired_tables(app));
    }

    /// The tables the manifest names: key, billing mode and fnctl's tags of
    /// those this app+stage owns; a table of such a name that is not its
    /// own is a [`Conflict`]. Then the tables this app+stage owns that the
    /// manifest no longer names (found by their tags, [`owned_by_tags`]):
    /// an empty one is read like the others, so the plan deletes it; one
    /// that holds an item is [`Live::kept`].
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        // (table name, the manifest's resource name)
        let wanted: Vec<(String, String)> = tables(&b.app)
            .map(|(name, _)| (names::resource(&b.app, name), name.to_string()))
            .collect();
        let named: BTreeSet<String> = wanted.iter().map(|(t, _)| t.clone()).collect();
        let (found, owned) = tokio::try_join!(
            read_each(wanted, |(table, resource)| async move {
                read_table(b, table, &resource).await
            }),
            owned_by_tags(b, "dynamodb:table"),
        )?;
        let mut live = Live::default();
        for f in found {
            match f {
                TableRead::Missing => {}
                TableRead::Found(r) => live.resources.push(r),
                TableRead::Foreign(c) => live.conflicts.push(c),
            }
        }
        live.tagging_denied.extend(owned.denied);
        let dropped = owned.found.into_keys().filter(|t| !named.contains(t));
        let dropped = read_each(dropped, |table| async move {
            // Its own tags say again whose it is: a table that is not this
            // app+stage's after all is left alone, not a conflict (the
            // manifest does not ask for it).
            let TableRead::Found(r) = read_table(b, table.clone(), "").await? else {
                return Ok(None);
            };
            let items = holds_items(b, &table).await?;
            Ok(Some((r, items)))
        })
        .await?;
        for (r, items) in dropped.into_iter().flatten() {
            if items {
                let kept = kept_dropped(
                    &b.app.stage,
                    r.id.clone(),
                    "it still holds items",
                    "delete its items (or export them first, e.g. with DynamoDB's export to S3)",
                );
                live.kept.push((r, kept));
            } else {
                live.resources.push(r);
            }
        }
        Ok(live)
    }

    /// A changed key is refused here, before any change: `plan` shows the
    /// update and fails, `deploy` stops.
    fn preflight(&self, b: &AwsBackend, live: &Live) -> Result<(), AwsError> {
        match key_change(&b.app, live) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change) = (step.backend, step.change);
        let after = step.after();
        let name = change.id.name.as_str();
        let ddb = &b.clients.dynamodb;
        let tag_list = dynamo_tags(name, &after["tags"])?;
        if change.action == Action::Create {
            let mut req = ddb
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .set_tags(Some(tag_list));
            for (field, key_type) in [
                ("partition_key", DynamoKeyType::Hash),
                ("sort_key", DynamoKeyType::Range),
            ] {
                let key = &after[field];
                let Some(attribute) = key["name"].as_str() else {
                    continue;
                };
                let build_error =
                    |e: aws_smithy_types::error::operation::BuildError| AwsError::Api {
                        operation: "CreateTable",
                        resource: name.to_string(),
                        message: e.to_string(),
                        hint: None,
                    };
                req = req
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(attribute)
                            .attribute_type(ScalarAttributeType::from(
                                key["type"].as_str().unwrap_or("S"),
                            ))
                            .build()
                            .map_err(build_error)?,
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name(attribute)
                            .key_type(key_type)
                            .build()
                            .map_err(build_error)?,
                    );
            }
            let mut result = req.send().await.or_api_error("CreateTable", name);
            if let Err(AwsError::Api { message, hint, .. }) = &mut result {
                if message.contains("ResourceInUseException") {
                    // A table of this name is still being deleted (a
                    // `remove` just before), which the read took as gone.
                    *hint = Some(format!("a table named `{name}` is still being deleted (DynamoDB takes a little while after a `remove`) or was just created by someone else: wait a minute and deploy again (`fnctl plan` then shows which)"));
                }
            }
            let out = result?;
            let status = out.table_description().and_then(|t| t.table_status());
            if status != Some(&TableStatus::Active) {
                wait_active(b, name).await?;
            }
            return Ok(());
        }
        if change
            .changed
            .iter()
            .any(|c| c == "partition_key" || c == "sort_key")
        {
            // Preflight refuses this plan; never replace a table here.
            return Err(AwsError::Api {
                operation: "UpdateTable",
                resource: name.to_string(),
                message: "a table's key cannot change".into(),
                hint: Some("run `fnctl plan`, which explains the ways out".into()),
            });
        }
        if change.changed.iter().any(|c| c == "billing_mode") {
            ddb.update_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .send()
                .await
                .or_api_error("UpdateTable", name)?;
            wait_active(b, name).await?;
        }
        if change.changed.iter().any(|c| c == "tags") {
            let account = step.shared.ids.lock().await.account.clone();
            ddb.tag_resource()
                .resource_arn(table_arn(&b.clients.region, &account, name))
                .set_tags(Some(tag_list))
                .send()
                .await
                .or_api_error("TagResource", name)?;
        }
        Ok(())
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let b = step.backend;
        let name = step.change.id.name.as_str();
        b.clients
            .dynamodb
            .delete_table()
            .table_name(name)
            .send()
            .await
            .or_missing(NO_TABLE, "DeleteTable", name)?;
        Ok(())
    }

    /// A table that holds an item is kept unless data is to be deleted
    /// (deleting the table then deletes its items); [`holds_items`]
    /// decides.
    async fn keep_on_remove(
        &self,
        b: &AwsBackend,
        r: &Resource,
        delete_data: bool,
        _progress: &Progress,
    ) -> Result<Option<Kept>, AwsError> {
        let name = r.id.name.as_str();
        if delete_data || !holds_items(b, name).await? {
            return Ok(None);
        }
        Ok(Some(Kept {
            id: r.id.clone(),
            reason: "it still holds items".into(),
            command: format!(
                "fnctl remove --delete-data --stage {} (deletes the table with its items), or export them first (e.g. DynamoDB's export to S3) and run remove --delete-data",
                b.app.stage
            ),
        }))
    }
}

/// Whether a table holds an item: one Scan of one item (DescribeTable's
/// item count is refreshed only about every six hours, so it may say 0 for
/// a table written to a minute ago). A table already gone holds none.
async fn holds_items(b: &AwsBackend, name: &str) -> Result<bool, AwsError> {
    let scan = b
        .clients
        .dynamodb
        .scan()
        .table_name(name)
        .limit(1)
        .send()
        .await
        .or_missing(NO_TABLE, "Scan", name)?;
    Ok(scan.is_some_and(|s| s.count() > 0 || !s.items().is_empty()))
}

/// fnctl's tags in DynamoDB's shape.
fn dynamo_tags(table: &str, desired: &Value) -> Result<Vec<Tag>, AwsError> {
    string_map(desired)
        .into_iter()
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::Api {
                    operation: "TagResource",
                    resource: table.to_string(),
                    message: e.to_string(),
                    hint: None,
                })
        })
        .collect()
}

/// Waits, bounded by [`ACTIVE_WAIT`], until DescribeTable says ACTIVE.
async fn wait_active(b: &AwsBackend, name: &str) -> Result<(), AwsError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        let out = b
            .clients
            .dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .or_api_error("DescribeTable", name)?;
        let status = out.table().and_then(|t| t.table_status()).cloned();
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        if started.elapsed() >= ACTIVE_WAIT {
            return Err(AwsError::NotReady {
                function: format!("table {name}"),
                state: format!(
                    "still {} after {} s",
                    status.as_ref().map_or("unknown", |s| s.as_str()),
                    ACTIVE_WAIT.as_secs()
                ),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// The key as fnctl's attributes say it, from the key schema and the
/// attribute definitions that give each key attribute's type.
fn live_key(t: &TableDescription, key_type: DynamoKeyType) -> Value {
    let Some(element) = t.key_schema().iter().find(|k| *k.key_type() == key_type) else {
        return Value::Null;
    };
    let name = element.attribute_name();
    let kind = t
        .attribute_definitions()
        .iter()
        .find(|d| d.attribute_name() == name)
        .map_or("", |d| d.attribute_type().as_str());
    json!({"name": name, "type": kind})
}

async fn read_table(b: &AwsBackend, name: String, resource: &str) -> Result<TableRead, AwsError> {
    let ddb = &b.clients.dynamodb;
    let Some(described) = ddb
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .or_missing(NO_TABLE, "DescribeTable", &name)?
    else {
        return Ok(TableRead::Missing);
    };
    let Some(t) = described.table() else {
        return Ok(TableRead::Missing);
    };
    // Being deleted (a `remove` just now): gone for every purpose here.
    if t.table_status() == Some(&TableStatus::Deleting) {
        return Ok(TableRead::Missing);
    }
    let arn = t.table_arn().unwrap_or_default().to_string();
    let mut table_tags: BTreeMap<String, String> = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let Some(page) = ddb
            .list_tags_of_resource()
            .resource_arn(&arn)
            .set_next_token(token.clone())
            .send()
            .await
            .or_missing(NO_TABLE, "ListTagsOfResource", &name)?
        else {
            return Ok(TableRead::Missing);
        };
        table_tags.extend(
            page.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string())),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    if let Some(owner) = foreign_owner(&table_tags, &b.app) {
        return Ok(TableRead::Foreign(Conflict {
            id: ResourceId::new(KIND, &name),
            owner,
            help: resource_name_help("table", resource),
        }));
    }
    // A table made before billing modes existed reports no summary: it is
    // provisioned.
    let billing = t
        .billing_mode_summary()
        .and_then(|s| s.billing_mode())
        .map_or("PROVISIONED", |m| m.as_str());
    let mut r = Resource::new(KIND, &name);
    r.attrs = attrs(vec![
        ("partition_key", live_key(t, DynamoKeyType::Hash)),
        ("sort_key", live_key(t, DynamoKeyType::Range)),
        ("billing_mode", json!(billing)),
        ("tags", owned_tags(&table_tags, &tags(&b.app, None))),
    ]);
    Ok(TableRead::Found(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(key: &str) -> App {
        let text = format!(
            r#"
[app]
name = "shop"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[resources.orders]
kind = "table"
partition_key = "{key}"
sort_key = {{ name = "created", type = "number" }}

[functions.api]
handler = "app.handler"
"#
        );
        crate::manifest::test_app(text)
    }

    #[test]
    fn desired_table_is_on_demand_with_typed_keys() {
        let t = &desired_tables(&app("pk"))[0];
        assert_eq!(t.id.name, "shop-dev-orders");
        assert_eq!(t.attrs["partition_key"], json!({"name": "pk", "type": "S"}));
        assert_eq!(t.attrs["sort_key"], json!({"name": "created", "type": "N"}));
        assert_eq!(t.attrs["billing_mode"], "PAY_PER_REQUEST");
        assert_eq!(t.attrs["tags"]["managed-by"], "fnctl");
    }

    #[test]
    fn a_changed_key_is_refused_with_both_keys_and_the_ways_out() {
        let live = Live {
            resources: desired_tables(&app("pk")),
            ..Live::default()
        };
        assert!(key_change(&app("pk"), &live).is_none());
        let err = key_change(&app("id"), &live).expect("refused");
        let text = err.to_string();
        assert!(text.contains("[resources.orders]"), "{text}");
        assert!(
            text.contains("`pk` (S)") && text.contains("`id` (S)"),
            "{text}"
        );
        let hint = err.hint().unwrap();
        assert!(hint.contains("new resource name"), "{hint}");
        assert!(
            hint.contains("fnctl remove --delete-data --stage dev"),
            "{hint}"
        );
    }

    #[test]
    fn arns() {
        assert_eq!(
            table_arn("eu-west-1", "1", "shop-dev-orders"),
            "arn:aws:dynamodb:eu-west-1:1:table/shop-dev-orders"
        );
    }
}
