package wire

// spec_gen.go is generated from the specification JSON, which lives beside
// the repository (../shared/amqp/) and is never copied into it.
//go:generate go run ../../../../tools/amqpgen -spec ../../../../../shared/amqp/amqp-rabbitmq-0.9.1.json -out spec_gen.go
