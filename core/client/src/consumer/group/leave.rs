//! LeaveGroup, sent when the consumer closes or unsubscribes and by the
//! heartbeat task when the application stops calling `poll`.

use strom_protocol::messages::leave_group_request::MemberIdentity;
use strom_protocol::messages::{ApiKey, LeaveGroupRequest, Response};

use super::Shared;
use crate::cluster::unexpected;
use crate::error::{check_code, Result};

impl Shared {
    /// Forgets the generation and, for a dynamic member, sends LeaveGroup.
    /// Java's `maybeLeaveGroup`: a static member (group.instance.id) sends
    /// nothing; its session expiring is what removes it.
    pub async fn leave(&self, reason: &str) -> Result<()> {
        let member_id = self.with_state(|s| {
            s.generation_id = -1;
            s.member_id.clone()
        });
        if self.instance_id.is_some() || member_id.is_empty() {
            return Ok(());
        }
        self.with_state(|s| s.member_id.clear());
        let group_id = self.group_id.clone();
        let response = self
            .send(ApiKey::LeaveGroup, |version| {
                let mut request = LeaveGroupRequest {
                    group_id: group_id.clone(),
                    ..Default::default()
                };
                if version >= 3 {
                    request.members = vec![MemberIdentity {
                        member_id: member_id.clone(),
                        group_instance_id: None,
                        reason: Some(reason.to_string()),
                        ..Default::default()
                    }];
                } else {
                    request.member_id = member_id.clone();
                }
                request.into()
            })
            .await?;
        let Response::LeaveGroup(left) = response else {
            return Err(unexpected(ApiKey::LeaveGroup, &response));
        };
        let code = left
            .members
            .first()
            .map(|m| m.error_code)
            .filter(|c| *c != 0)
            .unwrap_or(left.error_code);
        check_code(code, || format!("leaving group `{group_id}`"), None)
    }
}
