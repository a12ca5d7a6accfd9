package metrics

// Broker is a snapshot of the AMQP broker's counters, in plain values so
// that this package need not import the broker. The admin server fills it
// from the broker's Stats, Queues and Connections.
type Broker struct {
	Version, Node string // RabbitMQ version Ferry answers as; node name
	Connections   int
	Channels      int
	Consumers     int
	Queues        []Queue

	Published, Delivered, Acked, Confirmed, Returned, DeadLettered uint64

	Memory      int64 // message bytes held
	MemoryLimit int64 // high watermark, 0 = none
	MemoryAlarm bool
	RSS         int64 // process resident memory

	Store Store
}

// Queue is one queue's counters.
type Queue struct {
	VHost, Name                 string
	Ready, Unacked, Consumers   int
	ReadyBytes                  int64
	Published, Delivered, Acked uint64
}

// Store is the durable message store's counters.
type Store struct {
	Segments     int
	Bytes        int64
	LiveMessages int
	LiveBytes    int64
	Appends      uint64
	Fsyncs       uint64
}

// WriteBroker writes rabbitmq_prometheus's families (and Ferry's
// additions) for b.
func WriteBroker(w *Writer, b *Broker) {
	w.Add(RabbitBuildInfo, 1, "rabbitmq_version", b.Version, "product", "Ferry")
	w.Add(RabbitIdentityInfo, 1, "rabbitmq_node", b.Node, "rabbitmq_cluster", b.Node, "rabbitmq_cluster_permanent_id", b.Node)
	w.Add(RabbitConnections, float64(b.Connections))
	w.Add(RabbitChannels, float64(b.Channels))
	w.Add(RabbitConsumers, float64(b.Consumers))
	w.Add(RabbitQueues, float64(len(b.Queues)))
	// The Writer groups samples by family, so one pass over the queues
	// suffices.
	for _, q := range b.Queues {
		l := []string{"vhost", q.VHost, "queue", q.Name}
		w.Add(RabbitQueueReady, float64(q.Ready), l...)
		w.Add(RabbitQueueUnacked, float64(q.Unacked), l...)
		w.Add(RabbitQueueMessages, float64(q.Ready+q.Unacked), l...)
		w.Add(RabbitQueueConsumers, float64(q.Consumers), l...)
		w.Add(RabbitQueueReadyBytes, float64(q.ReadyBytes), l...)
		w.Add(RabbitQueuePublished, float64(q.Published), l...)
		w.Add(FerryQueueDelivered, float64(q.Delivered), l...)
		w.Add(FerryQueueAcked, float64(q.Acked), l...)
	}
	w.Add(RabbitChanPublished, float64(b.Published))
	w.Add(RabbitChanConfirmed, float64(b.Confirmed))
	w.Add(RabbitChanReturned, float64(b.Returned))
	w.Add(RabbitChanAcked, float64(b.Acked))
	const proto = "amqp091"
	w.Add(RabbitGlobalReceived, float64(b.Published), "protocol", proto)
	w.Add(RabbitGlobalDelivered, float64(b.Delivered), "protocol", proto)
	w.Add(RabbitGlobalAcked, float64(b.Acked), "protocol", proto)
	w.Add(RabbitGlobalConfirmed, float64(b.Confirmed), "protocol", proto)
	w.Add(RabbitGlobalReturned, float64(b.Returned), "protocol", proto)
	w.Add(RabbitGlobalConsumers, float64(b.Consumers), "protocol", proto)
	w.Add(RabbitResidentMemory, float64(b.RSS))
	if b.MemoryLimit > 0 {
		w.Add(RabbitMemoryLimit, float64(b.MemoryLimit))
	}
	w.Add(RabbitAlarmMemory, boolFloat(b.MemoryAlarm))
	w.Add(RabbitMsgStoreWrites, float64(b.Store.Appends))
	w.Add(RabbitIOSyncs, float64(b.Store.Fsyncs))
	w.Add(FerryBrokerMemory, float64(b.Memory))
	w.Add(FerryBrokerDeadLettered, float64(b.DeadLettered))
	w.Add(FerryMsgStoreSegments, float64(b.Store.Segments))
	w.Add(FerryMsgStoreBytes, float64(b.Store.Bytes))
	w.Add(FerryMsgStoreLive, float64(b.Store.LiveMessages))
	w.Add(FerryMsgStoreLiveBytes, float64(b.Store.LiveBytes))
}
