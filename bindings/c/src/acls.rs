//! ACLs (CreateAcls, DescribeAcls, DeleteAcls): librdkafka's
//! `rd_kafka_CreateAcls`, `rd_kafka_DescribeAcls` and `rd_kafka_DeleteAcls`
//! as blocking calls. A binding and a filter are the same struct; in a
//! filter the `*_ANY` codes and NULL strings match everything. The codes
//! are Kafka's, which librdkafka's enums use too.
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::ffi::{c_char, c_int, CString};

use strom_protocol::acl::{AclBinding as CoreBinding, AclFilter};

use crate::admin::with_admin;
use crate::codes::RespErr;
use crate::error::CError;
use crate::ffi;

/// Resource types (librdkafka's `RD_KAFKA_RESOURCE_*`).
pub const STROM_RESOURCE_ANY: c_int = 1;
pub const STROM_RESOURCE_TOPIC: c_int = 2;
pub const STROM_RESOURCE_GROUP: c_int = 3;
/// The cluster (librdkafka calls it `RD_KAFKA_RESOURCE_BROKER`).
pub const STROM_RESOURCE_CLUSTER: c_int = 4;
pub const STROM_RESOURCE_BROKER: c_int = 4;
pub const STROM_RESOURCE_TRANSACTIONAL_ID: c_int = 5;
/// How a binding's resource name matches (`RD_KAFKA_RESOURCE_PATTERN_*`);
/// MATCH (filters only) selects the bindings that apply to the name.
pub const STROM_RESOURCE_PATTERN_ANY: c_int = 1;
pub const STROM_RESOURCE_PATTERN_MATCH: c_int = 2;
pub const STROM_RESOURCE_PATTERN_LITERAL: c_int = 3;
pub const STROM_RESOURCE_PATTERN_PREFIXED: c_int = 4;
/// Operations (`RD_KAFKA_ACL_OPERATION_*`).
pub const STROM_ACL_OPERATION_ANY: c_int = 1;
pub const STROM_ACL_OPERATION_ALL: c_int = 2;
pub const STROM_ACL_OPERATION_READ: c_int = 3;
pub const STROM_ACL_OPERATION_WRITE: c_int = 4;
pub const STROM_ACL_OPERATION_CREATE: c_int = 5;
pub const STROM_ACL_OPERATION_DELETE: c_int = 6;
pub const STROM_ACL_OPERATION_ALTER: c_int = 7;
pub const STROM_ACL_OPERATION_DESCRIBE: c_int = 8;
pub const STROM_ACL_OPERATION_CLUSTER_ACTION: c_int = 9;
pub const STROM_ACL_OPERATION_DESCRIBE_CONFIGS: c_int = 10;
pub const STROM_ACL_OPERATION_ALTER_CONFIGS: c_int = 11;
pub const STROM_ACL_OPERATION_IDEMPOTENT_WRITE: c_int = 12;
/// Permission types (`RD_KAFKA_ACL_PERMISSION_TYPE_*`).
pub const STROM_ACL_PERMISSION_TYPE_ANY: c_int = 1;
pub const STROM_ACL_PERMISSION_TYPE_DENY: c_int = 2;
pub const STROM_ACL_PERMISSION_TYPE_ALLOW: c_int = 3;

/// An ACL binding: `principal` ("User:alice", "User:*") from `host` (an IP
/// address or "*") is allowed or denied `operation` on the resources of
/// `restype` whose name is `name` (LITERAL; "*" for all) or starts with it
/// (PREFIXED). As a filter, `*_ANY` codes and NULL strings match anything.
#[repr(C)]
pub struct AclBinding {
    pub restype: c_int,
    pub name: *const c_char,
    pub resource_pattern_type: c_int,
    pub principal: *const c_char,
    pub host: *const c_char,
    pub operation: c_int,
    pub permission_type: c_int,
}

/// Bindings (strom_describe_acls()); read only; free with
/// strom_acl_list_destroy().
#[repr(C)]
pub struct AclList {
    pub cnt: c_int,
    pub acls: *const AclBinding,
}

#[repr(C)]
struct OwnedAclList {
    public: AclList,
    acls: Vec<AclBinding>,
    strings: Vec<CString>,
}

/// A code as the protocol's one byte; out of range becomes -1 (invalid).
fn code(value: c_int) -> i8 {
    i8::try_from(value).unwrap_or(-1)
}

fn binding(acl: &AclBinding) -> Result<CoreBinding, CError> {
    let text = |ptr, what| ffi::str_arg(ptr, what).map(str::to_string);
    CoreBinding::from_codes(
        code(acl.restype),
        text(acl.name, "name")?,
        code(acl.resource_pattern_type),
        text(acl.principal, "principal")?,
        text(acl.host, "host")?,
        code(acl.operation),
        code(acl.permission_type),
    )
    .map_err(CError::invalid_arg)
}

fn filter(acl: &AclBinding) -> Result<AclFilter, CError> {
    let text = |ptr, what| ffi::opt_str_arg(ptr, what).map(|t| t.map(str::to_string));
    AclFilter::from_codes(
        code(acl.restype),
        text(acl.name, "name")?,
        code(acl.resource_pattern_type),
        text(acl.principal, "principal")?,
        text(acl.host, "host")?,
        code(acl.operation),
        code(acl.permission_type),
    )
    .map_err(CError::invalid_arg)
}

fn owned_list(found: Vec<CoreBinding>) -> OwnedAclList {
    let mut strings = Vec::new();
    let mut add = |text: &str| {
        let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
        let ptr = text.as_ptr();
        strings.push(text);
        ptr
    };
    let acls: Vec<AclBinding> = found
        .iter()
        .map(|acl| AclBinding {
            restype: acl.resource_type as c_int,
            name: add(&acl.resource_name),
            resource_pattern_type: acl.pattern_type as c_int,
            principal: add(&acl.principal),
            host: add(&acl.host),
            operation: acl.operation as c_int,
            permission_type: acl.permission as c_int,
        })
        .collect();
    OwnedAclList {
        public: AclList {
            cnt: c_int::try_from(acls.len()).unwrap_or(c_int::MAX),
            acls: acls.as_ptr(),
        },
        acls,
        strings,
    }
}

/// Creates the `acl_cnt` bindings of `acls`; the first refusal's code if
/// any is refused (STROM_RESP_ERR_SECURITY_DISABLED when the broker has no
/// authorizer), STROM_RESP_ERR__INVALID_ARG for an invalid code before
/// anything is sent.
#[unsafe(no_mangle)]
pub extern "C" fn strom_create_acls(
    rk: *mut crate::client::Client,
    acls: *const AclBinding,
    acl_cnt: usize,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let bindings = ffi::slice_arg(acls, acl_cnt, "acls")?
            .iter()
            .map(binding)
            .collect::<Result<Vec<_>, _>>()?;
        match admin
            .create_acls(&bindings)?
            .into_iter()
            .find_map(Result::err)
        {
            Some(refused) => Err(refused.into()),
            None => Ok(()),
        }
    })
}

/// Sets `*aclsp` to the bindings `filter` selects. Free it with
/// strom_acl_list_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_describe_acls(
    rk: *mut crate::client::Client,
    filter: *const AclBinding,
    aclsp: *mut *const AclList,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let selected = self::filter(ffi::object(filter, "filter")?)?;
        let owned = ffi::into_raw(owned_list(admin.describe_acls(&selected)?));
        ffi::write_out(aclsp, owned.cast::<AclList>().cast_const(), "aclsp")
            .inspect_err(|_| ffi::free::<OwnedAclList, OwnedAclList>(owned))
    })
}

/// Deletes the bindings `filter` selects; sets `*deleted_cntp` (if not
/// NULL) to how many were deleted.
#[unsafe(no_mangle)]
pub extern "C" fn strom_delete_acls(
    rk: *mut crate::client::Client,
    filter: *const AclBinding,
    deleted_cntp: *mut usize,
    timeout_ms: c_int,
) -> RespErr {
    with_admin(rk, timeout_ms, |admin| {
        let selected = self::filter(ffi::object(filter, "filter")?)?;
        let outcomes = admin.delete_acls(std::slice::from_ref(&selected))?;
        let mut deleted = 0;
        for outcome in outcomes {
            deleted += outcome?.len();
        }
        ffi::write_opt(deleted_cntp, deleted);
        Ok(())
    })
}

/// Frees what strom_describe_acls() returned. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn strom_acl_list_destroy(acls: *const AclList) {
    ffi::guard((), || ffi::free::<OwnedAclList, AclList>(acls.cast_mut()));
}
