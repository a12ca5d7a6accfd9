package redis

import "strings"

// Info returns what INFO with the given section arguments replies ("all",
// "default", "everything" or section names; none means "default"), for
// readers in the same process: the admin server's /api/ferry/redis and
// the Prometheus metrics, which map INFO's fields as redis_exporter does.
// It is safe for concurrent use.
func (s *Server) Info(sections ...string) string {
	want := map[string]bool{}
	if len(sections) == 0 {
		sections = []string{"default"}
	}
	for _, a := range sections {
		switch a = strings.ToLower(a); a {
		case "default":
			for _, n := range infoSections[:len(infoSections)-2] {
				want[n] = true
			}
		case "all", "everything":
			for _, n := range infoSections {
				want[n] = true
			}
		default:
			want[a] = true
		}
	}
	var b strings.Builder
	for _, sec := range infoSections {
		if !want[sec] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		s.writeInfo(&b, sec, nil)
	}
	return b.String()
}
