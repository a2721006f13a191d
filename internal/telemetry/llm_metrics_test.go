package telemetry

import (
	"strings"
	"testing"
	"time"
)

var testGenAI = GenAILabels{Operation: "chat", System: "openai", RequestModel: "m", ResponseModel: "m-1"}

func TestObserveCallSeries(t *testing.T) {
	tests := []struct {
		name           string
		in, out        int
		total          time.Duration
		ttft, tpot     time.Duration
		want, wantNone []string
	}{
		{
			name: "chat", in: 10, out: 20, total: time.Millisecond,
			want: []string{
				`agentgateway_gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_request_model="m",gen_ai_response_model="m-1",gen_ai_system="openai",gen_ai_token_type="input"} 1`,
				`agentgateway_gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_request_model="m",gen_ai_response_model="m-1",gen_ai_system="openai",gen_ai_token_type="output"} 20`,
				`agentgateway_gen_ai_server_request_duration_count{gen_ai_operation_name="chat",gen_ai_request_model="m",gen_ai_response_model="m-1",gen_ai_system="openai"} 1`,
			},
			// Series are created only when observed: no TTFT/TPOT for a non-stream call.
			wantNone: []string{"gen_ai_server_time_to_first_token", "gen_ai_server_time_per_output_token"},
		},
		{
			name: "embeddings: no output, no usage", in: -1, out: -1, total: time.Millisecond,
			want:     []string{`agentgateway_gen_ai_server_request_duration_count{`},
			wantNone: []string{"gen_ai_client_token_usage", "gen_ai_server_time_to_first_token"},
		},
		{
			name: "stream", in: 1, out: 2, total: time.Second, ttft: 10 * time.Millisecond, tpot: 20 * time.Millisecond,
			want: []string{
				`agentgateway_gen_ai_server_time_to_first_token_count{gen_ai_operation_name="chat",gen_ai_request_model="m",gen_ai_response_model="m-1",gen_ai_system="openai"} 1`,
				`agentgateway_gen_ai_server_time_per_output_token_count{gen_ai_operation_name="chat",gen_ai_request_model="m",gen_ai_response_model="m-1",gen_ai_system="openai"} 1`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics("", "")
			m.LLM().ObserveCall(testGenAI, tt.in, tt.out, tt.total, tt.ttft, tt.tpot)
			out := scrape(t, m)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %s in\n%s", w, grepLines(out, "gen_ai"))
				}
			}
			for _, n := range tt.wantNone {
				if strings.Contains(out, n+"_") {
					t.Errorf("unexpected %s series", n)
				}
			}
		})
	}
}

func grepLines(s, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// Repeated calls reuse the resolved series, also past the cache bound.
func TestObserveCallCachesAndBounds(t *testing.T) {
	m := NewMetrics("", "")
	l := m.LLM()
	for i := 0; i < 3; i++ {
		l.ObserveCall(testGenAI, 1, 1, time.Millisecond, 0, 0)
	}
	if !strings.Contains(scrape(t, m), `gen_ai_token_type="input"} 3`) {
		t.Error("input tokens count is not 3")
	}
	allocs := testing.AllocsPerRun(200, func() { l.ObserveCall(testGenAI, 1, 1, time.Millisecond, 0, 0) })
	if allocs != 0 {
		t.Errorf("ObserveCall allocates %v times per call for a known label set", allocs)
	}
	for i := 0; i < maxGenAIChildren+10; i++ {
		g := testGenAI
		g.RequestModel = "m" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		l.ObserveCall(g, 1, -1, 0, 0, 0)
	}
	if n := len(*l.children.Load()); n != maxGenAIChildren {
		t.Errorf("cache holds %d label sets, want the bound %d", n, maxGenAIChildren)
	}
}

func BenchmarkObserveCall(b *testing.B) {
	l := NewMetrics("", "").LLM()
	b.ReportAllocs()
	for b.Loop() {
		l.ObserveCall(testGenAI, 230, 200, 3*time.Millisecond, 0, 0)
	}
}
