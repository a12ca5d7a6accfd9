package config

import "testing"

func TestMemoryPagingRatio(t *testing.T) {
	if d := Default(); d.AMQP.MemoryPagingRatio != 0.5 {
		t.Fatalf("default paging ratio %v, want RabbitMQ's 0.5", d.AMQP.MemoryPagingRatio)
	}
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"0.75", 0.75, false},
		{" 0 ", 0, false},
		{"1.2", 1.2, false}, // above 1: the watermark blocks before paging
		{"-0.1", 0, true},
		{"half", 0, true},
		{"NaN", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		c := Default()
		err := c.Set("amqp-memory-paging-ratio", tc.in)
		if (err != nil) != tc.wantErr {
			t.Fatalf("Set(%q) error %v, want error %v", tc.in, err, tc.wantErr)
		}
		if err != nil {
			continue
		}
		if c.AMQP.MemoryPagingRatio != tc.want {
			t.Fatalf("Set(%q) = %v, want %v", tc.in, c.AMQP.MemoryPagingRatio, tc.want)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate after Set(%q): %v", tc.in, err)
		}
		if v, _ := c.Get("amqp-memory-paging-ratio"); v != tc.in && v != "0" {
			// Get prints the shortest form ("0" for " 0 ").
			t.Fatalf("Get = %q after Set(%q)", v, tc.in)
		}
	}
}
