// Command amqpgen generates Ferry's AMQP 0-9-1 codec
// (internal/proto/amqp/wire/spec_gen.go) from the machine-readable
// specification with RabbitMQ's extensions. The JSON stays outside the
// repository (../shared/amqp/); the generated Go is committed.
//
// Usage (run by go generate in internal/proto/amqp/wire):
//
//	amqpgen -spec ../shared/amqp/amqp-rabbitmq-0.9.1.json -out spec_gen.go
package main

import (
	"flag"
	"fmt"
	"os"

	"ferry/tools/amqpgen/gen"
)

func main() {
	spec := flag.String("spec", "", "path of amqp-rabbitmq-0.9.1.json")
	out := flag.String("out", "spec_gen.go", "Go file to write (- for standard output)")
	flag.Parse()
	if *spec == "" {
		fmt.Fprintln(os.Stderr, "amqpgen: -spec is required")
		os.Exit(2)
	}
	if err := run(*spec, *out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(specPath, out string) error {
	js, err := os.ReadFile(specPath)
	if err != nil {
		return fmt.Errorf("amqpgen: %w", err)
	}
	src, err := gen.Generate(js, specPath)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err = os.Stdout.Write(src)
		return err
	}
	// Write beside the target and rename, so an interrupted run never
	// leaves a half-written file for the compiler.
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, src, 0o644); err != nil {
		return fmt.Errorf("amqpgen: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("amqpgen: %w", err)
	}
	return nil
}
