package metrics

// This file declares every metric family Ferry exposes. Names follow the
// exporter each front end's users already run, prefixed as that exporter
// prefixes them, so existing Grafana dashboards and alert rules work:
//
//	redis_*     oliver006/redis_exporter (INFO field → metric tables below)
//	memcached_* prometheus/memcached_exporter
//	rabbitmq_*  RabbitMQ's rabbitmq_prometheus plugin (3.10 names)
//	process_*, go_*  client_golang's default process and Go collectors
//	ferry_*     Ferry's own, where no established name exists
//
// docs/dev/admin.md has the mapping table; keep it in sync.

// Ferry's own families.
var (
	FerryBuildInfo = Family{"ferry_build_info", "A metric with a constant '1' value labelled by the Ferry version and the Go version it was built with.", Gauge}
	FerryReady     = Family{"ferry_ready", "1 once the dataset is loaded and writes are accepted, 0 while loading.", Gauge}
	FerryStartTime = Family{"ferry_start_time_seconds", "Start time of the Ferry process since the Unix epoch in seconds.", Gauge}
)

// Process and Go runtime families (client_golang's names).
var (
	ProcessCPU         = Family{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", Counter}
	ProcessRSS         = Family{"process_resident_memory_bytes", "Resident memory size in bytes.", Gauge}
	ProcessVirtual     = Family{"process_virtual_memory_bytes", "Virtual memory size in bytes.", Gauge}
	ProcessOpenFDs     = Family{"process_open_fds", "Number of open file descriptors.", Gauge}
	ProcessMaxFDs      = Family{"process_max_fds", "Maximum number of open file descriptors.", Gauge}
	ProcessStartTime   = Family{"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Gauge}
	GoInfo             = Family{"go_info", "Information about the Go environment.", Gauge}
	GoGoroutines       = Family{"go_goroutines", "Number of goroutines that currently exist.", Gauge}
	GoHeapAlloc        = Family{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", Gauge}
	GoHeapInuse        = Family{"go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", Gauge}
	GoSys              = Family{"go_memstats_sys_bytes", "Number of bytes obtained from system.", Gauge}
	GoNextGC           = Family{"go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place.", Gauge}
	GoGCCycles         = Family{"go_gc_cycles_total_gc_cycles_total", "Count of all completed GC cycles.", Counter}
	GoGCPauses         = Family{"go_gc_pauses_seconds_total", "Total time the world was stopped for garbage collection, in seconds.", Counter}
	GoGOMAXPROCS       = Family{"go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting.", Gauge}
	GoMemoryLimitBytes = Family{"go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user (GOMEMLIMIT), otherwise math.MaxInt64.", Gauge}
)

// Redis families (redis_exporter). Fields of INFO without an entry in
// redisGauges or redisCounters are not exported.
var (
	RedisUp             = Family{"redis_up", "Whether the Redis front end is serving (1) or not (0).", Gauge}
	RedisInstanceInfo   = Family{"redis_instance_info", "Information about the Redis instance", Gauge}
	RedisStartTime      = Family{"redis_start_time_seconds", "Start time of the Redis instance since unix epoch in seconds.", Gauge}
	RedisDBKeys         = Family{"redis_db_keys", "Total number of keys by DB", Gauge}
	RedisDBKeysExpiring = Family{"redis_db_keys_expiring", "Total number of expiring keys by DB", Gauge}
	RedisDBAvgTTL       = Family{"redis_db_avg_ttl_seconds", "Avg TTL in seconds", Gauge}
	RedisCommands       = Family{"redis_commands_total", "Total number of calls per command", Counter}
	RedisCommandsTime   = Family{"redis_commands_duration_seconds_total", "Total amount of time in seconds spent per command", Counter}
	RedisCmdRejected    = Family{"redis_commands_rejected_calls_total", "Total number of errors prior command execution per command", Counter}
	RedisCmdFailed      = Family{"redis_commands_failed_calls_total", "Total number of errors within command execution per command", Counter}
	RedisErrors         = Family{"redis_errors_total", "Total number of errors per error type", Counter}
)

// redisGauges maps INFO fields to gauge families, as redis_exporter's
// metricMapGauges does.
var redisGauges = map[string]Family{
	"uptime_in_seconds":               {"redis_uptime_in_seconds", "uptime_in_seconds metric", Gauge},
	"process_id":                      {"redis_process_id", "process_id metric", Gauge},
	"io_threads_active":               {"redis_io_threads_active", "io_threads_active metric", Gauge},
	"connected_clients":               {"redis_connected_clients", "connected_clients metric", Gauge},
	"blocked_clients":                 {"redis_blocked_clients", "blocked_clients metric", Gauge},
	"tracking_clients":                {"redis_tracking_clients", "tracking_clients metric", Gauge},
	"clients_in_timeout_table":        {"redis_clients_in_timeout_table", "clients_in_timeout_table metric", Gauge},
	"maxclients":                      {"redis_max_clients", "maxclients metric", Gauge},
	"client_recent_max_input_buffer":  {"redis_client_recent_max_input_buffer_bytes", "client_recent_max_input_buffer metric", Gauge},
	"client_recent_max_output_buffer": {"redis_client_recent_max_output_buffer_bytes", "client_recent_max_output_buffer metric", Gauge},
	"allocator_active":                {"redis_allocator_active_bytes", "allocator_active metric", Gauge},
	"allocator_allocated":             {"redis_allocator_allocated_bytes", "allocator_allocated metric", Gauge},
	"allocator_resident":              {"redis_allocator_resident_bytes", "allocator_resident metric", Gauge},
	"used_memory":                     {"redis_memory_used_bytes", "used_memory metric", Gauge},
	"used_memory_rss":                 {"redis_memory_used_rss_bytes", "used_memory_rss metric", Gauge},
	"used_memory_peak":                {"redis_memory_used_peak_bytes", "used_memory_peak metric", Gauge},
	"used_memory_lua":                 {"redis_memory_used_lua_bytes", "used_memory_lua metric", Gauge},
	"used_memory_overhead":            {"redis_memory_used_overhead_bytes", "used_memory_overhead metric", Gauge},
	"used_memory_startup":             {"redis_memory_used_startup_bytes", "used_memory_startup metric", Gauge},
	"used_memory_dataset":             {"redis_memory_used_dataset_bytes", "used_memory_dataset metric", Gauge},
	"used_memory_scripts":             {"redis_memory_used_scripts_bytes", "used_memory_scripts metric", Gauge},
	"maxmemory":                       {"redis_memory_max_bytes", "maxmemory metric", Gauge},
	"total_system_memory":             {"redis_total_system_memory_bytes", "total_system_memory metric", Gauge},
	"mem_fragmentation_ratio":         {"redis_mem_fragmentation_ratio", "mem_fragmentation_ratio metric", Gauge},
	"mem_fragmentation_bytes":         {"redis_mem_fragmentation_bytes", "mem_fragmentation_bytes metric", Gauge},
	"mem_clients_slaves":              {"redis_mem_clients_slaves", "mem_clients_slaves metric", Gauge},
	"mem_clients_normal":              {"redis_mem_clients_normal", "mem_clients_normal metric", Gauge},
	"mem_not_counted_for_evict":       {"redis_mem_not_counted_for_eviction_bytes", "mem_not_counted_for_evict metric", Gauge},
	"lazyfree_pending_objects":        {"redis_lazyfree_pending_objects", "lazyfree_pending_objects metric", Gauge},
	"active_defrag_running":           {"redis_active_defrag_running", "active_defrag_running metric", Gauge},
	"loading":                         {"redis_loading_dump_file", "loading metric", Gauge},
	"rdb_changes_since_last_save":     {"redis_rdb_changes_since_last_save", "rdb_changes_since_last_save metric", Gauge},
	"rdb_bgsave_in_progress":          {"redis_rdb_bgsave_in_progress", "rdb_bgsave_in_progress metric", Gauge},
	"rdb_last_save_time":              {"redis_rdb_last_save_timestamp_seconds", "rdb_last_save_time metric", Gauge},
	"rdb_last_bgsave_status":          {"redis_rdb_last_bgsave_status", "rdb_last_bgsave_status metric", Gauge},
	"rdb_last_bgsave_time_sec":        {"redis_rdb_last_bgsave_duration_sec", "rdb_last_bgsave_time_sec metric", Gauge},
	"rdb_current_bgsave_time_sec":     {"redis_rdb_current_bgsave_duration_sec", "rdb_current_bgsave_time_sec metric", Gauge},
	"rdb_last_cow_size":               {"redis_rdb_last_cow_size_bytes", "rdb_last_cow_size metric", Gauge},
	"aof_enabled":                     {"redis_aof_enabled", "aof_enabled metric", Gauge},
	"aof_rewrite_in_progress":         {"redis_aof_rewrite_in_progress", "aof_rewrite_in_progress metric", Gauge},
	"aof_rewrite_scheduled":           {"redis_aof_rewrite_scheduled", "aof_rewrite_scheduled metric", Gauge},
	"aof_last_rewrite_time_sec":       {"redis_aof_last_rewrite_duration_sec", "aof_last_rewrite_time_sec metric", Gauge},
	"aof_current_rewrite_time_sec":    {"redis_aof_current_rewrite_duration_sec", "aof_current_rewrite_time_sec metric", Gauge},
	"aof_last_cow_size":               {"redis_aof_last_cow_size_bytes", "aof_last_cow_size metric", Gauge},
	"aof_current_size":                {"redis_aof_current_size_bytes", "aof_current_size metric", Gauge},
	"aof_base_size":                   {"redis_aof_base_size_bytes", "aof_base_size metric", Gauge},
	"aof_pending_rewrite":             {"redis_aof_pending_rewrite", "aof_pending_rewrite metric", Gauge},
	"aof_buffer_length":               {"redis_aof_buffer_length", "aof_buffer_length metric", Gauge},
	"aof_pending_bio_fsync":           {"redis_aof_pending_bio_fsync", "aof_pending_bio_fsync metric", Gauge},
	"aof_delayed_fsync":               {"redis_aof_delayed_fsync", "aof_delayed_fsync metric", Gauge},
	"aof_last_bgrewrite_status":       {"redis_aof_last_bgrewrite_status", "aof_last_bgrewrite_status metric", Gauge},
	"aof_last_write_status":           {"redis_aof_last_write_status", "aof_last_write_status metric", Gauge},
	"pubsub_channels":                 {"redis_pubsub_channels", "pubsub_channels metric", Gauge},
	"pubsub_patterns":                 {"redis_pubsub_patterns", "pubsub_patterns metric", Gauge},
	"pubsubshard_channels":            {"redis_pubsubshard_channels", "pubsubshard_channels metric", Gauge},
	"latest_fork_usec":                {"redis_latest_fork_usec", "latest_fork_usec metric", Gauge},
	"instantaneous_ops_per_sec":       {"redis_instantaneous_ops_per_sec", "instantaneous_ops_per_sec metric", Gauge},
	"instantaneous_input_kbps":        {"redis_instantaneous_input_kbps", "instantaneous_input_kbps metric", Gauge},
	"instantaneous_output_kbps":       {"redis_instantaneous_output_kbps", "instantaneous_output_kbps metric", Gauge},
	"connected_slaves":                {"redis_connected_slaves", "connected_slaves metric", Gauge},
	"repl_backlog_size":               {"redis_replication_backlog_bytes", "repl_backlog_size metric", Gauge},
	"repl_backlog_active":             {"redis_repl_backlog_is_active", "repl_backlog_active metric", Gauge},
	"repl_backlog_first_byte_offset":  {"redis_repl_backlog_first_byte_offset", "repl_backlog_first_byte_offset metric", Gauge},
	"repl_backlog_histlen":            {"redis_repl_backlog_history_bytes", "repl_backlog_histlen metric", Gauge},
	"master_repl_offset":              {"redis_master_repl_offset", "master_repl_offset metric", Gauge},
	"second_repl_offset":              {"redis_second_repl_offset", "second_repl_offset metric", Gauge},
}

// redisCounters maps INFO fields to counter families (redis_exporter's
// metricMapCounters).
var redisCounters = map[string]Family{
	"total_connections_received":     {"redis_connections_received_total", "total_connections_received metric", Counter},
	"total_commands_processed":       {"redis_commands_processed_total", "total_commands_processed metric", Counter},
	"rejected_connections":           {"redis_rejected_connections_total", "rejected_connections metric", Counter},
	"total_net_input_bytes":          {"redis_net_input_bytes_total", "total_net_input_bytes metric", Counter},
	"total_net_output_bytes":         {"redis_net_output_bytes_total", "total_net_output_bytes metric", Counter},
	"expired_keys":                   {"redis_expired_keys_total", "expired_keys metric", Counter},
	"evicted_keys":                   {"redis_evicted_keys_total", "evicted_keys metric", Counter},
	"keyspace_hits":                  {"redis_keyspace_hits_total", "keyspace_hits metric", Counter},
	"keyspace_misses":                {"redis_keyspace_misses_total", "keyspace_misses metric", Counter},
	"total_error_replies":            {"redis_total_error_replies_total", "total_error_replies metric", Counter},
	"expired_time_cap_reached_count": {"redis_expired_time_cap_reached_total", "expired_time_cap_reached_count metric", Counter},
	"used_cpu_sys":                   {"redis_cpu_sys_seconds_total", "used_cpu_sys metric", Counter},
	"used_cpu_user":                  {"redis_cpu_user_seconds_total", "used_cpu_user metric", Counter},
	"used_cpu_sys_children":          {"redis_cpu_sys_children_seconds_total", "used_cpu_sys_children metric", Counter},
	"used_cpu_user_children":         {"redis_cpu_user_children_seconds_total", "used_cpu_user_children metric", Counter},
	"used_cpu_sys_main_thread":       {"redis_cpu_sys_main_thread_seconds_total", "used_cpu_sys_main_thread metric", Counter},
	"used_cpu_user_main_thread":      {"redis_cpu_user_main_thread_seconds_total", "used_cpu_user_main_thread metric", Counter},
}

// redisStatusFields are INFO fields whose value is "ok" or "err"; the
// exporter turns "ok" into 1 and anything else into 0.
var redisStatusFields = map[string]bool{
	"rdb_last_bgsave_status":    true,
	"aof_last_bgrewrite_status": true,
	"aof_last_write_status":     true,
}

// Memcached families (memcached_exporter).
var (
	MemcachedUp               = Family{"memcached_up", "Could the memcached server be reached.", Gauge}
	MemcachedUptime           = Family{"memcached_uptime_seconds", "Number of seconds since the server started.", Gauge}
	MemcachedTime             = Family{"memcached_time_seconds", "current UNIX time according to the server.", Gauge}
	MemcachedVersion          = Family{"memcached_version", "The version of this memcached server.", Gauge}
	MemcachedCPUUser          = Family{"memcached_process_user_cpu_seconds_total", "Accumulated user time for this process.", Counter}
	MemcachedCPUSystem        = Family{"memcached_process_system_cpu_seconds_total", "Accumulated system time for this process.", Counter}
	MemcachedCommands         = Family{"memcached_commands_total", "Total number of all requests broken down by command (get, set, etc.) and status.", Counter}
	MemcachedMaxConnections   = Family{"memcached_max_connections", "Maximum number of clients allowed.", Gauge}
	MemcachedAcceptingConns   = Family{"memcached_accepting_connections", "The Memcached server is currently accepting new connections.", Gauge}
	MemcachedListenerDisabled = Family{"memcached_connections_listener_disabled_total", "Number of times that memcached has hit its connections limit and disabled its listener.", Counter}
	MemcachedConnsYielded     = Family{"memcached_connections_yielded_total", "Total number of connections yielded running due to hitting the memcached's -R limit.", Counter}
)

// memcachedStats maps `stats` fields to families, as memcached_exporter
// reads them.
var memcachedStats = map[string]Family{
	"bytes_read":           {"memcached_read_bytes_total", "Total number of bytes read by this server from network.", Counter},
	"bytes_written":        {"memcached_written_bytes_total", "Total number of bytes sent by this server to network.", Counter},
	"curr_connections":     {"memcached_current_connections", "Current number of open connections.", Gauge},
	"total_connections":    {"memcached_connections_total", "Total number of connections opened since the server started running.", Counter},
	"rejected_connections": {"memcached_connections_rejected_total", "Total number of connections rejected due to hitting the memcached's -c limit in maxconns_fast mode.", Counter},
	"bytes":                {"memcached_current_bytes", "Current number of bytes used to store items.", Gauge},
	"limit_maxbytes":       {"memcached_limit_bytes", "Number of bytes this server is allowed to use for storage.", Gauge},
	"curr_items":           {"memcached_current_items", "Current number of items stored by this instance.", Gauge},
	"total_items":          {"memcached_items_total", "Total number of items stored during the life of this instance.", Counter},
	"evictions":            {"memcached_items_evicted_total", "Total number of valid items removed from cache to free memory for new items.", Counter},
	"reclaimed":            {"memcached_items_reclaimed_total", "Total number of times an entry was stored using memory from an expired entry.", Counter},
	"store_too_large":      {"memcached_item_too_large_total", "The number of times an item exceeded the max-item-size when being stored.", Counter},
	"store_no_memory":      {"memcached_item_no_memory_total", "The number of times an item could not be stored due to no more memory.", Counter},
}

// RabbitMQ families (rabbitmq_prometheus). Queue-level families carry
// vhost and queue labels, as the plugin's per-object endpoint does; the
// plugin's aggregated /metrics has the same names without labels, and
// dashboards sum over them either way.
var (
	RabbitBuildInfo         = Family{"rabbitmq_build_info", "RabbitMQ & Erlang/OTP version info", Untyped}
	RabbitIdentityInfo      = Family{"rabbitmq_identity_info", "RabbitMQ node & cluster identity info", Untyped}
	RabbitConnections       = Family{"rabbitmq_connections", "Connections currently open", Gauge}
	RabbitChannels          = Family{"rabbitmq_channels", "Channels currently open", Gauge}
	RabbitConsumers         = Family{"rabbitmq_consumers", "Consumers currently connected", Gauge}
	RabbitQueues            = Family{"rabbitmq_queues", "Queues available", Gauge}
	RabbitQueueReady        = Family{"rabbitmq_queue_messages_ready", "Messages ready to be delivered to consumers", Gauge}
	RabbitQueueUnacked      = Family{"rabbitmq_queue_messages_unacked", "Messages delivered to consumers but not yet acknowledged", Gauge}
	RabbitQueueMessages     = Family{"rabbitmq_queue_messages", "Sum of ready and unacknowledged messages - total queue depth", Gauge}
	RabbitQueueConsumers    = Family{"rabbitmq_queue_consumers", "Consumers on a queue", Gauge}
	RabbitQueueReadyBytes   = Family{"rabbitmq_queue_messages_ready_bytes", "Size in bytes of ready messages", Gauge}
	RabbitQueuePublished    = Family{"rabbitmq_queue_messages_published_total", "Total number of messages published to queues", Counter}
	RabbitChanPublished     = Family{"rabbitmq_channel_messages_published_total", "Total number of messages published into an exchange on a channel", Counter}
	RabbitChanConfirmed     = Family{"rabbitmq_channel_messages_confirmed_total", "Total number of messages published into an exchange and confirmed on the channel", Counter}
	RabbitChanReturned      = Family{"rabbitmq_channel_messages_unroutable_returned_total", "Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable", Counter}
	RabbitChanAcked         = Family{"rabbitmq_channel_messages_acked_total", "Total number of messages acknowledged by consumers", Counter}
	RabbitGlobalReceived    = Family{"rabbitmq_global_messages_received_total", "Total number of messages received from publishers", Counter}
	RabbitGlobalDelivered   = Family{"rabbitmq_global_messages_delivered_total", "Total number of messages delivered to consumers", Counter}
	RabbitGlobalAcked       = Family{"rabbitmq_global_messages_acknowledged_total", "Total number of messages acknowledged by consumers", Counter}
	RabbitGlobalConfirmed   = Family{"rabbitmq_global_messages_confirmed_total", "Total number of messages confirmed to publishers", Counter}
	RabbitGlobalReturned    = Family{"rabbitmq_global_messages_unroutable_returned_total", "Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable", Counter}
	RabbitGlobalConsumers   = Family{"rabbitmq_global_consumers", "Current number of consumers", Gauge}
	RabbitResidentMemory    = Family{"rabbitmq_process_resident_memory_bytes", "Memory used in bytes", Gauge}
	RabbitMemoryLimit       = Family{"rabbitmq_resident_memory_limit_bytes", "Memory high watermark in bytes", Gauge}
	RabbitAlarmMemory       = Family{"rabbitmq_alarms_memory_used_watermark", "is 1 if VM memory watermark threshold is reached", Gauge}
	RabbitMsgStoreWrites    = Family{"rabbitmq_msg_store_write_total", "Total number of Message Store write operations", Counter}
	RabbitIOSyncs           = Family{"rabbitmq_io_sync_ops_total", "Total number of I/O sync operations", Counter}
	FerryQueueDelivered     = Family{"ferry_queue_messages_delivered_total", "Total number of messages a queue delivered to consumers or basic.get", Counter}
	FerryQueueAcked         = Family{"ferry_queue_messages_acked_total", "Total number of a queue's deliveries acknowledged", Counter}
	FerryBrokerMemory       = Family{"ferry_broker_message_memory_bytes", "Bytes of messages the broker holds (bodies, properties and bookkeeping), the figure the memory alarm compares to its watermark", Gauge}
	FerryBrokerDeadLettered = Family{"ferry_broker_messages_dead_lettered_total", "Total number of messages dead-lettered", Counter}
	FerryMsgStoreSegments   = Family{"ferry_msgstore_segments", "Segment files of the durable message store", Gauge}
	FerryMsgStoreBytes      = Family{"ferry_msgstore_bytes", "Total size of the message store's segment files", Gauge}
	FerryMsgStoreLive       = Family{"ferry_msgstore_live_messages", "Durable messages still held by a queue", Gauge}
	FerryMsgStoreLiveBytes  = Family{"ferry_msgstore_live_bytes", "Encoded size of the live message records", Gauge}
)

// AllFamilies lists every family declared here (tests check their names
// and that the docs mention them).
func AllFamilies() []Family {
	fs := []Family{
		FerryBuildInfo, FerryReady, FerryStartTime,
		ProcessCPU, ProcessRSS, ProcessVirtual, ProcessOpenFDs, ProcessMaxFDs, ProcessStartTime,
		GoInfo, GoGoroutines, GoHeapAlloc, GoHeapInuse, GoSys, GoNextGC, GoGCCycles, GoGCPauses, GoGOMAXPROCS, GoMemoryLimitBytes,
		RedisUp, RedisInstanceInfo, RedisStartTime, RedisDBKeys, RedisDBKeysExpiring, RedisDBAvgTTL,
		RedisCommands, RedisCommandsTime, RedisCmdRejected, RedisCmdFailed, RedisErrors,
		MemcachedUp, MemcachedUptime, MemcachedTime, MemcachedVersion, MemcachedCPUUser, MemcachedCPUSystem,
		MemcachedCommands, MemcachedMaxConnections, MemcachedAcceptingConns, MemcachedListenerDisabled, MemcachedConnsYielded,
		RabbitBuildInfo, RabbitIdentityInfo, RabbitConnections, RabbitChannels, RabbitConsumers, RabbitQueues,
		RabbitQueueReady, RabbitQueueUnacked, RabbitQueueMessages, RabbitQueueConsumers, RabbitQueueReadyBytes, RabbitQueuePublished,
		RabbitChanPublished, RabbitChanConfirmed, RabbitChanReturned, RabbitChanAcked,
		RabbitGlobalReceived, RabbitGlobalDelivered, RabbitGlobalAcked, RabbitGlobalConfirmed, RabbitGlobalReturned, RabbitGlobalConsumers,
		RabbitResidentMemory, RabbitMemoryLimit, RabbitAlarmMemory, RabbitMsgStoreWrites, RabbitIOSyncs,
		FerryQueueDelivered, FerryQueueAcked, FerryBrokerMemory, FerryBrokerDeadLettered,
		FerryMsgStoreSegments, FerryMsgStoreBytes, FerryMsgStoreLive, FerryMsgStoreLiveBytes,
	}
	for _, m := range []map[string]Family{redisGauges, redisCounters, memcachedStats} {
		for _, f := range m {
			fs = append(fs, f)
		}
	}
	return fs
}
