/* Every test of the suite, in the order main() runs them. */
#define STROM_TESTS(X)                                  \
    X(test_conf_refuses_unknown_and_invalid_settings)   \
    X(test_null_arguments_get_invalid_arg)              \
    X(test_error_codes_have_librdkafka_names)           \
    X(test_calls_need_the_right_kind_of_handle)         \
    X(test_unknown_topic_is_reported)                   \
    X(test_broker_down)                                 \
    X(test_destroy_does_not_hang)                       \
    X(test_round_trip_through_every_codec)              \
    X(test_assign_seek_position_pause_and_partition_end) \
    X(test_two_members_share_partitions_eager)          \
    X(test_two_members_share_partitions_cooperative)    \
    X(test_commits_sync_async_and_from_a_rebalance_callback) \
    X(test_subscribe_by_regular_expression) \
    X(test_statistics_arrive_from_poll)     \
    X(test_admin_topics_partitions_and_configs)         \
    X(test_admin_offsets_records_and_groups)            \
    X(test_kcat_reads_what_libstrom_writes)             \
    X(test_libstrom_reads_what_kcat_writes)             \
    X(test_hostile_arguments_are_refused_cleanly)       \
    X(test_one_producer_shared_by_threads)              \
    X(test_a_producer_logs_in_with_scram)               \
    X(test_a_producer_logs_in_with_an_oauth_token_callback) \
    X(test_acls_are_created_described_and_deleted)
