//! CreateAcls, DescribeAcls and DeleteAcls (KIP-140, patterns from
//! KIP-290). Without an authorizer they answer SECURITY_DISABLED, as
//! Kafka does. Who may call them (ALTER or DESCRIBE on the cluster) is
//! checked before they run, in [`crate::access`].

use std::collections::BTreeMap;

use strom_protocol::error_codes;
use strom_protocol::messages::create_acls_response::AclCreationResult;
use strom_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use strom_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use strom_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse,
};

use crate::cluster::requests::ControllerRequest;
use crate::security::acl::{AclBinding, AclFilter};
use crate::state::Broker;

const NO_AUTHORIZER: &str = "No authorizer is configured (authorizer.class.name)";

/// (code, message) of a failure.
type Failure = (i16, String);

pub async fn create(broker: &Broker, request: CreateAclsRequest) -> CreateAclsResponse {
    let result = |failure: Option<Failure>| {
        let (error_code, error_message) =
            failure.map_or((error_codes::NONE, None), |(c, m)| (c, Some(m)));
        AclCreationResult {
            error_code,
            error_message,
            ..Default::default()
        }
    };
    if !broker.authorizer.is_enabled() {
        let disabled = || result(Some((error_codes::SECURITY_DISABLED, NO_AUTHORIZER.into())));
        return CreateAclsResponse {
            results: request.creations.iter().map(|_| disabled()).collect(),
            ..Default::default()
        };
    }
    let checked: Vec<Result<AclBinding, Failure>> = request
        .creations
        .into_iter()
        .map(|c| {
            AclBinding::from_codes(
                c.resource_type,
                c.resource_name,
                c.resource_pattern_type,
                c.principal,
                c.host,
                c.operation,
                c.permission_type,
            )
            .map_err(|why| (error_codes::INVALID_REQUEST, why))
        })
        .collect();
    let valid: Vec<AclBinding> = checked
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .cloned()
        .collect();
    let stored = store(broker, valid.clone(), Vec::new()).await;
    for acl in valid.iter().filter(|_| stored.is_ok()) {
        tracing::info!(acl = acl.describe(), "ACL created");
    }
    CreateAclsResponse {
        results: checked
            .into_iter()
            .map(|c| result(c.err().or_else(|| stored.clone().err())))
            .collect(),
        ..Default::default()
    }
}

pub fn describe_acls(broker: &Broker, request: DescribeAclsRequest) -> DescribeAclsResponse {
    if !broker.authorizer.is_enabled() {
        return DescribeAclsResponse {
            error_code: error_codes::SECURITY_DISABLED,
            error_message: Some(NO_AUTHORIZER.into()),
            ..Default::default()
        };
    }
    let filter = match AclFilter::from_codes(
        request.resource_type_filter,
        request.resource_name_filter,
        request.pattern_type_filter,
        request.principal_filter,
        request.host_filter,
        request.operation,
        request.permission_type,
    ) {
        Ok(filter) => filter,
        Err(why) => {
            return DescribeAclsResponse {
                error_code: error_codes::INVALID_REQUEST,
                error_message: Some(why),
                ..Default::default()
            }
        }
    };
    // Grouped by resource pattern, as Kafka answers.
    let mut resources: BTreeMap<(i8, String, i8), Vec<AclDescription>> = BTreeMap::new();
    for acl in broker.authorizer.describe(&filter) {
        let key = (
            acl.resource_type as i8,
            acl.resource_name.clone(),
            acl.pattern_type as i8,
        );
        resources.entry(key).or_default().push(AclDescription {
            principal: acl.principal,
            host: acl.host,
            operation: acl.operation as i8,
            permission_type: acl.permission as i8,
            ..Default::default()
        });
    }
    DescribeAclsResponse {
        resources: resources
            .into_iter()
            .map(
                |((resource_type, resource_name, pattern_type), acls)| DescribeAclsResource {
                    resource_type,
                    resource_name,
                    pattern_type,
                    acls,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}

pub async fn delete(broker: &Broker, request: DeleteAclsRequest) -> DeleteAclsResponse {
    let failed = |(error_code, message): Failure| DeleteAclsFilterResult {
        error_code,
        error_message: Some(message),
        ..Default::default()
    };
    if !broker.authorizer.is_enabled() {
        return DeleteAclsResponse {
            filter_results: request
                .filters
                .iter()
                .map(|_| failed((error_codes::SECURITY_DISABLED, NO_AUTHORIZER.into())))
                .collect(),
            ..Default::default()
        };
    }
    let selected: Vec<Result<Vec<AclBinding>, Failure>> = request
        .filters
        .into_iter()
        .map(|f| {
            AclFilter::from_codes(
                f.resource_type_filter,
                f.resource_name_filter,
                f.pattern_type_filter,
                f.principal_filter,
                f.host_filter,
                f.operation,
                f.permission_type,
            )
            .map(|filter| broker.authorizer.describe(&filter))
            .map_err(|why| (error_codes::INVALID_REQUEST, why))
        })
        .collect();
    let mut doomed: Vec<AclBinding> = selected.iter().flatten().flatten().cloned().collect();
    doomed.sort();
    doomed.dedup();
    let stored = if doomed.is_empty() {
        Ok(())
    } else {
        store(broker, Vec::new(), doomed.clone()).await
    };
    if stored.is_ok() {
        for acl in &doomed {
            tracing::info!(acl = acl.describe(), "ACL deleted");
        }
    }
    let filter_results = selected
        .into_iter()
        .map(|outcome| match (outcome, &stored) {
            (Err(failure), _) => failed(failure),
            (Ok(_), Err(failure)) => failed(failure.clone()),
            (Ok(acls), Ok(())) => DeleteAclsFilterResult {
                matching_acls: acls.into_iter().map(matching).collect(),
                ..Default::default()
            },
        })
        .collect();
    DeleteAclsResponse {
        filter_results,
        ..Default::default()
    }
}

fn matching(acl: AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl {
        resource_type: acl.resource_type as i8,
        resource_name: acl.resource_name,
        pattern_type: acl.pattern_type as i8,
        principal: acl.principal,
        host: acl.host,
        operation: acl.operation as i8,
        permission_type: acl.permission as i8,
        ..Default::default()
    }
}

/// Stores the change: through the metadata log in a cluster (every broker
/// applies it), else in this broker's `acls.json`.
async fn store(
    broker: &Broker,
    created: Vec<AclBinding>,
    deleted: Vec<AclBinding>,
) -> Result<(), Failure> {
    if let Some(node) = broker.cluster() {
        return node
            .ask(ControllerRequest::AlterAcls { created, deleted })
            .await
            .map(|_| ())
            .map_err(|e| (e.code, e.message));
    }
    broker.authorizer.change(created, &deleted).map_err(|e| {
        tracing::error!("cannot store ACLs: {e}");
        (error_codes::UNKNOWN_SERVER_ERROR, e.to_string())
    })
}
