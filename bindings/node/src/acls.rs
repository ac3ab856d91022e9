//! ACLs for kafkajs's `createAcls`, `describeAcls` and `deleteAcls`: ACLs
//! and filters cross as Kafka's codes; `node/lib/admin.js` shapes the
//! answers as kafkajs does.

use napi_derive::napi;
use strom_client::admin::{AclBinding, AclFilter};

use crate::admin::{NativeAdmin, Outcome};
use crate::errors::invalid;
use crate::on_client;

/// One ACL, as kafkajs's `acl` entries carry it.
#[napi(object)]
pub struct Acl {
    pub resource_type: i32,
    pub resource_name: String,
    pub resource_pattern_type: i32,
    pub principal: String,
    pub host: String,
    pub operation: i32,
    pub permission_type: i32,
}

/// A filter: the strings may be left out (any).
#[napi(object)]
pub struct AclFilterSpec {
    pub resource_type: i32,
    pub resource_name: Option<String>,
    pub resource_pattern_type: i32,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: i32,
    pub permission_type: i32,
}

/// What one filter deleted, or why it failed (the error's JSON facts).
#[napi(object)]
pub struct DeletedAcls {
    pub error: Option<String>,
    pub acls: Vec<Acl>,
}

/// A code as Kafka's one-byte field; out of range is a caller's mistake.
fn code(value: i32, what: &str) -> napi::Result<i8> {
    i8::try_from(value).map_err(|_| invalid(format!("{what} {value} is not a valid code")))
}

fn binding(acl: Acl) -> napi::Result<AclBinding> {
    AclBinding::from_codes(
        code(acl.resource_type, "resourceType")?,
        acl.resource_name,
        code(acl.resource_pattern_type, "resourcePatternType")?,
        acl.principal,
        acl.host,
        code(acl.operation, "operation")?,
        code(acl.permission_type, "permissionType")?,
    )
    .map_err(invalid)
}

fn filter(spec: AclFilterSpec) -> napi::Result<AclFilter> {
    AclFilter::from_codes(
        code(spec.resource_type, "resourceType")?,
        spec.resource_name,
        code(spec.resource_pattern_type, "resourcePatternType")?,
        spec.principal,
        spec.host,
        code(spec.operation, "operation")?,
        code(spec.permission_type, "permissionType")?,
    )
    .map_err(invalid)
}

fn acl(binding: AclBinding) -> Acl {
    Acl {
        resource_type: binding.resource_type as i32,
        resource_name: binding.resource_name,
        resource_pattern_type: binding.pattern_type as i32,
        principal: binding.principal,
        host: binding.host,
        operation: binding.operation as i32,
        permission_type: binding.permission as i32,
    }
}

#[napi]
impl NativeAdmin {
    /// Creates ACLs; per ACL in order, `{ name: <its description>, error }`.
    #[napi]
    pub async fn create_acls(&self, acls: Vec<Acl>) -> napi::Result<Vec<Outcome>> {
        let bindings = acls
            .into_iter()
            .map(binding)
            .collect::<napi::Result<Vec<_>>>()?;
        let names: Vec<String> = bindings.iter().map(AclBinding::describe).collect();
        let outcomes = on_client(self.admin().create_acls(&bindings)).await?;
        Ok(names
            .into_iter()
            .zip(outcomes)
            .map(|(name, result)| Outcome {
                name,
                error: result.err().map(|e| crate::to_js_error(&e).reason),
            })
            .collect())
    }

    #[napi]
    pub async fn describe_acls(&self, spec: AclFilterSpec) -> napi::Result<Vec<Acl>> {
        let filter = filter(spec)?;
        let acls = on_client(self.admin().describe_acls(&filter)).await?;
        Ok(acls.into_iter().map(acl).collect())
    }

    #[napi]
    pub async fn delete_acls(&self, specs: Vec<AclFilterSpec>) -> napi::Result<Vec<DeletedAcls>> {
        let filters = specs
            .into_iter()
            .map(filter)
            .collect::<napi::Result<Vec<_>>>()?;
        let outcomes = on_client(self.admin().delete_acls(&filters)).await?;
        Ok(outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(acls) => DeletedAcls {
                    error: None,
                    acls: acls.into_iter().map(acl).collect(),
                },
                Err(e) => DeletedAcls {
                    error: Some(crate::to_js_error(&e).reason),
                    acls: Vec::new(),
                },
            })
            .collect())
    }
}
