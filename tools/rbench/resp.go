package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// respError is an error reply ("-ERR ...").
type respError string

func (e respError) Error() string { return string(e) }

// client is a minimal RESP2 client: enough to probe commands, read INFO and
// load keys. Replies are string (simple or bulk), int64, nil, []any or
// respError.
type client struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func dial(addr string, timeout time.Duration) (*client, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &client{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}, nil
}

func (c *client) Close() error { return c.nc.Close() }

// do sends one command and reads its reply within timeout.
func (c *client) do(timeout time.Duration, args ...string) (any, error) {
	c.nc.SetDeadline(time.Now().Add(timeout))
	c.bw.Write(appendCommand(nil, args...))
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	return readReply(c.br)
}

// oneCommand dials addr, sends one command and returns its reply; an error
// reply is returned as the error.
func oneCommand(addr string, timeout time.Duration, args ...string) (any, error) {
	c, err := dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r, err := c.do(timeout, args...)
	if e, ok := r.(respError); ok && err == nil {
		return nil, e
	}
	return r, err
}

// appendCommand appends args as a RESP array of bulk strings.
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// readLine reads one CRLF-terminated line without the CRLF.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("protocol error: line %q does not end in CRLF", line)
	}
	return line[:len(line)-2], nil
}

// readReply reads one RESP2 reply (RESP3 types are not expected: rbench
// never sends HELLO 3).
func readReply(br *bufio.Reader) (any, error) {
	line, err := readLine(br)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("protocol error: empty line")
	}
	switch line[0] {
	case '+':
		return string(line[1:]), nil
	case '-':
		return respError(line[1:]), nil
	case ':':
		n, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("protocol error: integer %q", line)
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil || n < -1 {
			return nil, fmt.Errorf("protocol error: bulk length %q", line)
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return nil, errors.New("protocol error: bulk string not followed by CRLF")
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil || n < -1 {
			return nil, fmt.Errorf("protocol error: array length %q", line)
		}
		if n == -1 {
			return nil, nil
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = readReply(br); err != nil {
				return nil, err
			}
		}
		return arr, nil
	}
	return nil, fmt.Errorf("protocol error: unexpected reply type in %q", line)
}
