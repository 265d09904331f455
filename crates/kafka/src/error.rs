//! Classifies librdkafka errors into [`PortError`]s: retry, give up, or report.

use ports::PortError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Whether retrying later may succeed: the broker, the coordinator or the leader is (for now)
/// unreachable, busy or moving, or the group is rebalancing.
pub(crate) fn is_transient(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::BrokerTransportFailure
            | C::Resolve
            | C::MessageTimedOut
            | C::AllBrokersDown
            | C::OperationTimedOut
            | C::QueueFull
            | C::WaitingForCoordinator
            | C::InProgress
            | C::PreviousInProgress
            | C::State
            | C::TimedOutQueue
            | C::WaitCache
            | C::Interrupted
            | C::Retry
            | C::AssignmentLost
            | C::UnknownBroker
            | C::DestroyBroker
            | C::NodeUpdate
            | C::UnknownTopicOrPartition
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::RequestTimedOut
            | C::BrokerNotAvailable
            | C::ReplicaNotAvailable
            | C::NetworkException
            | C::CoordinatorLoadInProgress
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::IllegalGeneration
            | C::UnknownMemberId
            | C::RebalanceInProgress
            | C::KafkaStorageError
            | C::FencedLeaderEpoch
            | C::UnknownLeaderEpoch
            | C::OffsetNotAvailable
            | C::PreferredLeaderNotAvailable
            | C::UnstableOffsetCommit
            | C::ThrottlingQuotaExceeded
            | C::FencedMemberEpoch
            | C::StaleMemberEpoch
            | C::RebootstrapRequired
    )
}

/// Whether the request or the configuration is wrong, so retrying will not help.
fn is_invalid(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::InvalidArgument
            | C::InvalidTopic
            | C::MessageSizeTooLarge
            | C::InvalidPartitions
            | C::InvalidReplicationFactor
            | C::InvalidConfig
            | C::PolicyViolation
            | C::InvalidGroupId
            | C::TopicAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::SaslAuthenticationFailed
            | C::Authentication
            | C::SSL
            | C::UnsupportedVersion
            | C::UnsupportedFeature
            | C::UnknownPartition
            | C::UnknownTopic
    )
}

/// Classifies a librdkafka error code; `what` says which operation failed.
pub(crate) fn from_code(what: &str, code: RDKafkaErrorCode) -> PortError {
    let msg = format!("Kafka {what}: {code}");
    if is_transient(code) {
        PortError::Unavailable(msg)
    } else if is_invalid(code) {
        PortError::Invalid(msg)
    } else {
        PortError::Internal(msg)
    }
}

/// Classifies a [`KafkaError`]; `what` says which operation failed.
pub(crate) fn classify(what: &str, e: &KafkaError) -> PortError {
    match e {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) | KafkaError::Nul(_) => {
            PortError::Invalid(format!("Kafka {what}: {e}"))
        }
        KafkaError::Canceled => PortError::Unavailable(format!("Kafka {what}: {e}")),
        _ => match e.rdkafka_error_code() {
            Some(code) if is_transient(code) => {
                PortError::Unavailable(format!("Kafka {what}: {e}"))
            }
            Some(code) if is_invalid(code) => PortError::Invalid(format!("Kafka {what}: {e}")),
            _ => PortError::Internal(format!("Kafka {what}: {e}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_says_what_to_do() {
        assert!(matches!(
            classify(
                "commit",
                &KafkaError::ConsumerCommit(RDKafkaErrorCode::RebalanceInProgress)
            ),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            classify(
                "append",
                &KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)
            ),
            PortError::Invalid(_)
        ));
        assert!(matches!(
            classify(
                "poll",
                &KafkaError::MessageConsumption(RDKafkaErrorCode::InvalidMessage)
            ),
            PortError::Internal(_)
        ));
        assert!(matches!(
            from_code("create topic", RDKafkaErrorCode::InvalidReplicationFactor),
            PortError::Invalid(_)
        ));
    }
}
