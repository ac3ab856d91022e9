//! ACLs (KIP-140, KIP-290): CreateAcls, DescribeAcls and DeleteAcls, as
//! Kafka's `Admin.createAcls`, `describeAcls` and `deleteAcls` offer them.
//! The bindings and filters are [`strom_protocol::acl`]'s, the broker's
//! own model.

use std::future::Future;

use strom_protocol::acl::{AclBinding, AclFilter};
use strom_protocol::messages::create_acls_request::AclCreation;
use strom_protocol::messages::delete_acls_request::DeleteAclsFilter;
use strom_protocol::messages::{
    ApiKey, CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest, Response,
};

use super::AdminClient;
use crate::cluster::unexpected;
use crate::error::{check_code, ClientError, Result};

impl AdminClient {
    /// Creates `acls`; one outcome per binding, in order.
    pub fn create_acls(
        &self,
        acls: &[AclBinding],
    ) -> impl Future<Output = Result<Vec<Result<()>>>> + Send + 'static {
        let admin = self.clone();
        let acls = acls.to_vec();
        let request = CreateAclsRequest {
            creations: acls
                .iter()
                .map(|acl| AclCreation {
                    resource_type: acl.resource_type as i8,
                    resource_name: acl.resource_name.clone(),
                    resource_pattern_type: acl.pattern_type as i8,
                    principal: acl.principal.clone(),
                    host: acl.host.clone(),
                    operation: acl.operation as i8,
                    permission_type: acl.permission as i8,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        async move {
            let response = admin
                .send_to_controller(ApiKey::CreateAcls, |_| request.clone().into())
                .await?;
            let Response::CreateAcls(response) = response else {
                return Err(unexpected(ApiKey::CreateAcls, &response));
            };
            Ok(acls
                .iter()
                .enumerate()
                .map(|(i, acl)| match response.results.get(i) {
                    Some(result) => check_code(
                        result.error_code,
                        || format!("creating ACL {}", acl.describe()),
                        result.error_message.as_deref(),
                    ),
                    None => Err(missing_answer(acl)),
                })
                .collect())
        }
    }

    /// The bindings `filter` selects.
    pub fn describe_acls(
        &self,
        filter: &AclFilter,
    ) -> impl Future<Output = Result<Vec<AclBinding>>> + Send + 'static {
        let admin = self.clone();
        let (resource_type, pattern_type, operation, permission) = filter.codes();
        let request = DescribeAclsRequest {
            resource_type_filter: resource_type,
            resource_name_filter: filter.resource_name.clone(),
            pattern_type_filter: pattern_type,
            principal_filter: filter.principal.clone(),
            host_filter: filter.host.clone(),
            operation,
            permission_type: permission,
            ..Default::default()
        };
        async move {
            let response = admin
                .send_to_controller(ApiKey::DescribeAcls, |_| request.clone().into())
                .await?;
            let Response::DescribeAcls(response) = response else {
                return Err(unexpected(ApiKey::DescribeAcls, &response));
            };
            check_code(
                response.error_code,
                || "describing ACLs".into(),
                response.error_message.as_deref(),
            )?;
            let mut acls = Vec::new();
            for resource in response.resources {
                for acl in resource.acls {
                    acls.push(binding(
                        resource.resource_type,
                        resource.resource_name.clone(),
                        resource.pattern_type,
                        acl.principal,
                        acl.host,
                        acl.operation,
                        acl.permission_type,
                    )?);
                }
            }
            Ok(acls)
        }
    }

    /// Deletes what each filter selects; per filter, the bindings deleted.
    pub fn delete_acls(
        &self,
        filters: &[AclFilter],
    ) -> impl Future<Output = Result<Vec<Result<Vec<AclBinding>>>>> + Send + 'static {
        let admin = self.clone();
        let request = DeleteAclsRequest {
            filters: filters
                .iter()
                .map(|filter| {
                    let (resource_type, pattern_type, operation, permission) = filter.codes();
                    DeleteAclsFilter {
                        resource_type_filter: resource_type,
                        resource_name_filter: filter.resource_name.clone(),
                        pattern_type_filter: pattern_type,
                        principal_filter: filter.principal.clone(),
                        host_filter: filter.host.clone(),
                        operation,
                        permission_type: permission,
                        ..Default::default()
                    }
                })
                .collect(),
            ..Default::default()
        };
        let count = filters.len();
        async move {
            let response = admin
                .send_to_controller(ApiKey::DeleteAcls, |_| request.clone().into())
                .await?;
            let Response::DeleteAcls(response) = response else {
                return Err(unexpected(ApiKey::DeleteAcls, &response));
            };
            let mut outcomes = Vec::with_capacity(count);
            for i in 0..count {
                let Some(result) = response.filter_results.get(i) else {
                    outcomes.push(Err(ClientError::InvalidArgument(
                        "the broker did not answer for every ACL filter".into(),
                    )));
                    continue;
                };
                let outcome = check_code(
                    result.error_code,
                    || "deleting ACLs".into(),
                    result.error_message.as_deref(),
                )
                .and_then(|()| {
                    result
                        .matching_acls
                        .iter()
                        .map(|m| {
                            binding(
                                m.resource_type,
                                m.resource_name.clone(),
                                m.pattern_type,
                                m.principal.clone(),
                                m.host.clone(),
                                m.operation,
                                m.permission_type,
                            )
                        })
                        .collect()
                });
                outcomes.push(outcome);
            }
            Ok(outcomes)
        }
    }
}

/// A binding from a broker's answer.
fn binding(
    resource_type: i8,
    resource_name: String,
    pattern_type: i8,
    principal: String,
    host: String,
    operation: i8,
    permission: i8,
) -> Result<AclBinding> {
    AclBinding::from_codes(
        resource_type,
        resource_name,
        pattern_type,
        principal,
        host,
        operation,
        permission,
    )
    .map_err(|why| {
        ClientError::InvalidArgument(format!(
            "the broker described an ACL this client cannot read: {why}"
        ))
    })
}

fn missing_answer(acl: &AclBinding) -> ClientError {
    ClientError::InvalidArgument(format!(
        "the broker did not answer for ACL {}",
        acl.describe()
    ))
}
