package metrics

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestFamiliesFollowTheRules(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range AllFamilies() {
		if err := checkFamily(f); err != nil {
			t.Error(err)
		}
		if seen[f.Name] {
			t.Errorf("family %s declared twice", f.Name)
		}
		seen[f.Name] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d families", len(seen))
	}
}

// TestFamiliesDocumented holds docs/dev/admin.md to the names declared in
// metrics.go: every family must appear in its mapping table.
func TestFamiliesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/dev/admin.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range AllFamilies() {
		if !strings.Contains(string(doc), "`"+f.Name+"`") {
			t.Errorf("docs/dev/admin.md does not mention %s", f.Name)
		}
	}
}

func TestWriterOutput(t *testing.T) {
	w := NewWriter()
	a := Family{"a_total", "A counter.\nSecond line with \\.", Counter}
	b := Family{"b", "A gauge.", Gauge}
	w.Add(a, 3, "x", `q"uo\te`+"\n")
	w.Add(b, 1.5)
	w.Add(a, 4, "x", "plain")
	w.Add(a, 5, "x", "plain") // duplicate series: dropped
	w.Add(b, math.Inf(1), "k", "v")
	w.Add(b, math.NaN(), "k", "n")
	w.Add(b, 1e20, "k", "big")
	w.Add(b, -7, "k", "neg")
	want := `# HELP a_total A counter.\nSecond line with \\.
# TYPE a_total counter
a_total{x="q\"uo\\te\n"} 3
a_total{x="plain"} 4
# HELP b A gauge.
# TYPE b gauge
b 1.5
b{k="v"} +Inf
b{k="n"} NaN
b{k="big"} 1e+20
b{k="neg"} -7
`
	if got := w.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	fams, err := ParseText(strings.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := fams["a_total"].Get("x", "q\"uo\\te\n"); !ok || v != 3 {
		t.Fatalf("escaped label read back as %v %v", v, ok)
	}
	if fams["a_total"].Help != "A counter.\nSecond line with \\." {
		t.Fatalf("help read back as %q", fams["a_total"].Help)
	}
}

func TestParseTextRejects(t *testing.T) {
	head := "# TYPE m gauge\n"
	tests := []struct{ name, in string }{
		{"sample before TYPE", "m 1\n"},
		{"bad metric name", "# TYPE 1m gauge\n1m 1\n"},
		{"bad label name", head + "m{1a=\"x\"} 1\n"},
		{"reserved label name", head + "m{__x=\"x\"} 1\n"},
		{"unquoted label", head + "m{a=x} 1\n"},
		{"unterminated label", head + "m{a=\"x} 1\n"},
		{"bad escape", head + "m{a=\"\\t\"} 1\n"},
		{"duplicate label", head + "m{a=\"x\",a=\"y\"} 1\n"},
		{"missing value", head + "m{a=\"x\"}\n"},
		{"garbage value", head + "m 1x\n"},
		{"hex value", head + "m 0x10\n"},
		{"lowercase inf", head + "m inf\n"},
		{"bad timestamp", head + "m 1 now\n"},
		{"extra field", head + "m 1 2 3\n"},
		{"duplicate series", head + "m{a=\"x\"} 1\nm{a=\"x\"} 2\n"},
		{"second TYPE", head + "# TYPE m gauge\nm 1\n"},
		{"second HELP", "# HELP m a\n# HELP m b\n" + head + "m 1\n"},
		{"unknown type", "# TYPE m meter\nm 1\n"},
		{"TYPE after samples", "# TYPE n gauge\nn 1\n# TYPE n gauge\n"},
		{"not contiguous", head + "m{a=\"1\"} 1\n# TYPE n gauge\nn 1\nm{a=\"2\"} 2\n"},
		{"family twice", head + "m 1\n# TYPE n gauge\nn 1\n# HELP m again\n"},
		{"negative counter", "# TYPE c_total counter\nc_total -1\n"},
		{"HELP without TYPE", "# HELP lonely text\n"},
		{"no space before value", head + "m{a=\"x\"}1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseText(strings.NewReader(tt.in)); err == nil {
				t.Fatalf("accepted %q", tt.in)
			}
		})
	}
}

func TestParseTextAccepts(t *testing.T) {
	in := "# a plain comment\n\n# HELP m Help.\n# TYPE m gauge\nm{a=\"x\",b=\"\"} 1 1700000000000\nm -Inf\n" +
		"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 3\ns_count 2\n"
	fams, err := ParseText(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(fams["s"].Samples) != 3 || len(fams["m"].Samples) != 2 {
		t.Fatalf("families: %+v", fams)
	}
}

const redisInfo = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nos:Linux 6.1 x86_64\r\nprocess_id:42\r\n" +
	"run_id:abc\r\ntcp_port:6379\r\nuptime_in_seconds:100\r\n\r\n# Clients\r\nconnected_clients:3\r\nblocked_clients:1\r\n" +
	"maxclients:10000\r\n\r\n# Memory\r\nused_memory:1024\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\nmem_fragmentation_ratio:1.25\r\n" +
	"\r\n# Persistence\r\nloading:0\r\nrdb_last_bgsave_status:ok\r\naof_enabled:1\r\naof_last_write_status:err\r\n" +
	"\r\n# Stats\r\ntotal_commands_processed:17\r\nkeyspace_hits:5\r\nkeyspace_misses:2\r\nexpired_stale_perc:0.00\r\n" +
	"\r\n# Replication\r\nrole:master\r\n\r\n# CPU\r\nused_cpu_sys:0.250000\r\n\r\n# Errorstats\r\nerrorstat_WRONGTYPE:count=2\r\n" +
	"\r\n# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=5000\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n" +
	"\r\n# Commandstats\r\ncmdstat_set:calls=9,usec=1500000,usec_per_call=166666.67,rejected_calls=1,failed_calls=0\r\n" +
	"cmdstat_config|get:calls=2,usec=4,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n"

func TestWriteRedis(t *testing.T) {
	w := NewWriter()
	WriteRedis(w, redisInfo, time.Unix(1000, 0))
	fams, err := ParseText(strings.NewReader(w.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, w.String())
	}
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"redis_up", nil, 1},
		{"redis_connected_clients", nil, 3},
		{"redis_blocked_clients", nil, 1},
		{"redis_max_clients", nil, 10000},
		{"redis_memory_used_bytes", nil, 1024},
		{"redis_mem_fragmentation_ratio", nil, 1.25},
		{"redis_rdb_last_bgsave_status", nil, 1},
		{"redis_aof_last_write_status", nil, 0},
		{"redis_aof_enabled", nil, 1},
		{"redis_commands_processed_total", nil, 17},
		{"redis_keyspace_hits_total", nil, 5},
		{"redis_keyspace_misses_total", nil, 2},
		{"redis_cpu_sys_seconds_total", nil, 0.25},
		{"redis_errors_total", []string{"err", "WRONGTYPE"}, 2},
		{"redis_db_keys", []string{"db", "db0"}, 10},
		{"redis_db_keys", []string{"db", "db3"}, 1},
		{"redis_db_keys_expiring", []string{"db", "db0"}, 2},
		{"redis_db_avg_ttl_seconds", []string{"db", "db0"}, 5},
		{"redis_commands_total", []string{"cmd", "set"}, 9},
		{"redis_commands_total", []string{"cmd", "config|get"}, 2},
		{"redis_commands_duration_seconds_total", []string{"cmd", "set"}, 1.5},
		{"redis_commands_rejected_calls_total", []string{"cmd", "set"}, 1},
		{"redis_start_time_seconds", nil, 900},
		{"redis_uptime_in_seconds", nil, 100},
	}
	for _, tt := range tests {
		f := fams[tt.name]
		if f == nil {
			t.Errorf("no family %s", tt.name)
			continue
		}
		if v, ok := f.Get(tt.labels...); !ok || v != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, v, ok, tt.want)
		}
	}
	info := fams["redis_instance_info"].Samples[0].Labels
	if info["redis_version"] != "7.0.15" || info["role"] != "master" || info["maxmemory_policy"] != "noeviction" || info["run_id"] != "abc" {
		t.Errorf("instance info labels %v", info)
	}
	if fams["redis_expired_stale_percentage"] != nil {
		t.Error("a field without a mapping was exported")
	}
}

func TestWriteMemcached(t *testing.T) {
	stats := [][2]string{{"pid", "1"}, {"uptime", "50"}, {"time", "1700000000"}, {"version", "1.6.21"},
		{"rusage_user", "1.500000"}, {"rusage_system", "0.250000"}, {"curr_connections", "4"}, {"total_connections", "9"},
		{"rejected_connections", "1"}, {"cmd_get", "10"}, {"cmd_set", "7"}, {"cmd_flush", "1"}, {"get_hits", "6"},
		{"get_misses", "4"}, {"cas_hits", "1"}, {"cas_misses", "1"}, {"cas_badval", "1"}, {"bytes_read", "300"},
		{"bytes_written", "200"}, {"limit_maxbytes", "67108864"}, {"accepting_conns", "1"}, {"bytes", "99"},
		{"curr_items", "3"}, {"total_items", "8"}, {"evictions", "2"}, {"reclaimed", "0"}}
	w := NewWriter()
	WriteMemcached(w, stats, 1024)
	fams, err := ParseText(strings.NewReader(w.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, w.String())
	}
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"memcached_up", nil, 1},
		{"memcached_uptime_seconds", nil, 50},
		{"memcached_version", []string{"version", "1.6.21"}, 1},
		{"memcached_process_user_cpu_seconds_total", nil, 1.5},
		{"memcached_commands_total", []string{"command", "get", "status", "hit"}, 6},
		{"memcached_commands_total", []string{"command", "get", "status", "miss"}, 4},
		{"memcached_commands_total", []string{"command", "cas", "status", "badval"}, 1},
		{"memcached_commands_total", []string{"command", "set", "status", "hit"}, 4}, // 7 sets less 3 cas
		{"memcached_commands_total", []string{"command", "flush", "status", "hit"}, 1},
		{"memcached_current_connections", nil, 4},
		{"memcached_connections_total", nil, 9},
		{"memcached_connections_rejected_total", nil, 1},
		{"memcached_read_bytes_total", nil, 300},
		{"memcached_written_bytes_total", nil, 200},
		{"memcached_limit_bytes", nil, 67108864},
		{"memcached_current_bytes", nil, 99},
		{"memcached_current_items", nil, 3},
		{"memcached_items_total", nil, 8},
		{"memcached_items_evicted_total", nil, 2},
		{"memcached_max_connections", nil, 1024},
		{"memcached_accepting_connections", nil, 1},
	}
	for _, tt := range tests {
		f := fams[tt.name]
		if f == nil {
			t.Errorf("no family %s", tt.name)
			continue
		}
		if v, ok := f.Get(tt.labels...); !ok || v != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, v, ok, tt.want)
		}
	}
}

func TestWriteBroker(t *testing.T) {
	b := &Broker{Version: "3.10.0", Node: "ferry@h", Connections: 2, Channels: 3, Consumers: 1,
		Queues: []Queue{{VHost: "/", Name: "q1", Ready: 5, Unacked: 2, Consumers: 1, ReadyBytes: 50, Published: 9, Delivered: 4, Acked: 2},
			{VHost: "v", Name: "q\"2", Ready: 1}},
		Published: 10, Delivered: 4, Acked: 2, Confirmed: 10, Returned: 1, DeadLettered: 3,
		Memory: 1000, MemoryLimit: 4000, MemoryAlarm: true, RSS: 5000, Store: Store{Segments: 1, Appends: 7, Fsyncs: 3}}
	w := NewWriter()
	WriteBroker(w, b)
	fams, err := ParseText(strings.NewReader(w.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, w.String())
	}
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"rabbitmq_connections", nil, 2},
		{"rabbitmq_channels", nil, 3},
		{"rabbitmq_consumers", nil, 1},
		{"rabbitmq_queues", nil, 2},
		{"rabbitmq_queue_messages_ready", []string{"vhost", "/", "queue", "q1"}, 5},
		{"rabbitmq_queue_messages_ready", []string{"vhost", "v", "queue", "q\"2"}, 1},
		{"rabbitmq_queue_messages_unacked", []string{"vhost", "/", "queue", "q1"}, 2},
		{"rabbitmq_queue_messages", []string{"vhost", "/", "queue", "q1"}, 7},
		{"rabbitmq_queue_consumers", []string{"vhost", "/", "queue", "q1"}, 1},
		{"rabbitmq_queue_messages_published_total", []string{"vhost", "/", "queue", "q1"}, 9},
		{"rabbitmq_channel_messages_published_total", nil, 10},
		{"rabbitmq_global_messages_received_total", []string{"protocol", "amqp091"}, 10},
		{"rabbitmq_global_messages_delivered_total", []string{"protocol", "amqp091"}, 4},
		{"rabbitmq_global_messages_acknowledged_total", []string{"protocol", "amqp091"}, 2},
		{"rabbitmq_alarms_memory_used_watermark", nil, 1},
		{"rabbitmq_resident_memory_limit_bytes", nil, 4000},
		{"rabbitmq_msg_store_write_total", nil, 7},
		{"ferry_broker_messages_dead_lettered_total", nil, 3},
		{"ferry_broker_message_memory_bytes", nil, 1000},
	}
	for _, tt := range tests {
		f := fams[tt.name]
		if f == nil {
			t.Errorf("no family %s", tt.name)
			continue
		}
		if v, ok := f.Get(tt.labels...); !ok || v != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, v, ok, tt.want)
		}
	}
}

func TestWriteProcessAndFerry(t *testing.T) {
	w := NewWriter()
	start := time.Now().Add(-time.Minute)
	WriteFerry(w, "0.1.0", true, start)
	WriteProcess(w, start)
	fams, err := ParseText(strings.NewReader(w.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, w.String())
	}
	for _, name := range []string{"ferry_build_info", "ferry_ready", "process_cpu_seconds_total", "process_resident_memory_bytes",
		"process_open_fds", "go_goroutines", "go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes", "go_gc_cycles_total_gc_cycles_total"} {
		f := fams[name]
		if f == nil || len(f.Samples) == 0 {
			t.Errorf("no %s", name)
			continue
		}
	}
	if v, _ := fams["process_resident_memory_bytes"].Get(); v < 1<<20 {
		t.Errorf("rss %v", v)
	}
	if v, _ := fams["go_goroutines"].Get(); v < 1 {
		t.Errorf("goroutines %v", v)
	}
}

// FuzzParseText feeds arbitrary text to the parser; whatever it accepts
// must survive a write and a second parse unchanged.
func FuzzParseText(f *testing.F) {
	f.Add("# HELP m h\n# TYPE m gauge\nm{a=\"x\"} 1\n")
	f.Add("# TYPE c_total counter\nc_total 3 1700000000\n")
	f.Add(redisInfo)
	f.Add("# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 3\ns_count 2\n")
	f.Fuzz(func(t *testing.T, in string) {
		fams, err := ParseText(strings.NewReader(in))
		if err != nil {
			return
		}
		w := NewWriter()
		types := map[string]Type{"counter": Counter, "gauge": Gauge, "untyped": Untyped}
		for name, fam := range fams {
			typ, ok := types[fam.Type]
			if !ok {
				return // summaries and histograms: the Writer does not write them
			}
			for _, s := range fam.Samples {
				var labels []string
				for k, v := range s.Labels {
					labels = append(labels, k, v)
				}
				w.Add(Family{name, "h", typ}, s.Value, labels...)
			}
		}
		again, err := ParseText(strings.NewReader(w.String()))
		if err != nil {
			t.Fatalf("rewritten output rejected: %v\n%s", err, w.String())
		}
		for name, fam := range fams {
			if len(fam.Samples) == 0 {
				continue
			}
			g := again[name]
			if g == nil || len(g.Samples) != len(fam.Samples) {
				t.Fatalf("family %s lost samples", name)
			}
			for i, s := range fam.Samples {
				if seriesKey(s) != seriesKey(g.Samples[i]) {
					t.Fatalf("series changed: %v vs %v", s, g.Samples[i])
				}
				if s.Value != g.Samples[i].Value && !(math.IsNaN(s.Value) && math.IsNaN(g.Samples[i].Value)) {
					t.Fatalf("value changed: %v vs %v", s.Value, g.Samples[i].Value)
				}
			}
		}
	})
}
