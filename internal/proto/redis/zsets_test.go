package redis

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"ferry/internal/keyspace"
)

func TestZSetCommands(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		runCollCases(t, ctx, rdb, zsetCases)
	})
}

// zsetCases run in order against one server; the replies are redis-server
// 7.0.15's, as go-redis decodes them (RESP3 scores are doubles, so they
// print as Go floats: +Inf, -Inf).
var zsetCases = []collCase{
	// ZADD and its options
	{cmd: `ZADD z 1 a 2 b 3 c`, want: "3"},
	{cmd: `ZADD z 1 a 4 d`, want: "1"},
	{cmd: `ZADD z CH 10 a 4 d 5 e`, want: "2"},
	{cmd: `ZADD z NX 100 a 6 f`, want: "1"},
	{cmd: `ZADD z XX 7 f 8 g`, want: "0"},
	{cmd: `ZADD z XX CH 6 f 8 g`, want: "1"},
	{cmd: `ZADD z GT CH 1 a 20 b`, want: "1"},
	{cmd: `ZADD z LT CH 1 a 30 c`, want: "1"},
	{cmd: `ZADD z GT XX CH 2 a`, want: "1"},
	{cmd: `ZADD z INCR 5 a`, want: "7"},
	{cmd: `ZADD z INCR NX 5 a`, want: "(nil)"},
	{cmd: `ZADD z INCR XX 5 nosuch`, want: "(nil)"},
	{cmd: `ZADD z INCR GT -1 a`, want: "(nil)"},
	{cmd: `ZADD z INCR LT -1 a`, want: "6"},
	{cmd: `ZADD z INCR 0 a`, want: "6"},
	{cmd: `ZADD nokey XX 1 a`, want: "0"},
	{cmd: `ZADD nokey XX INCR 1 a`, want: "(nil)"},
	{cmd: `EXISTS nokey`, want: "0"},
	{cmd: `ZADD z NX XX 1 a`, want: "ERR XX and NX options at the same time are not compatible"},
	{cmd: `ZADD z NX GT 1 a`, want: "ERR GT, LT, and/or NX options at the same time are not compatible"},
	{cmd: `ZADD z NX LT 1 a`, want: "ERR GT, LT, and/or NX options at the same time are not compatible"},
	{cmd: `ZADD z GT LT 1 a`, want: "ERR GT, LT, and/or NX options at the same time are not compatible"},
	{cmd: `ZADD z INCR 1 a 2 b`, want: "ERR INCR option supports a single increment-element pair"},
	{cmd: `ZADD z 1`, want: "ERR wrong number of arguments for 'zadd' command"},
	{cmd: `ZADD z 1 a 2`, want: "ERR syntax error"},
	{cmd: `ZADD z FOO 1 a`, want: "ERR syntax error"},
	{cmd: `ZADD z 1 a foo`, want: "ERR syntax error"},
	{cmd: `ZADD z x a`, want: "ERR value is not a valid float"},
	{cmd: `ZADD z nan a`, want: "ERR value is not a valid float"},
	{cmd: `ZADD z 1e400 a`, want: "ERR value is not a valid float"},
	{argv: []string{"ZADD", "z", "", "a"}, want: "ERR value is not a valid float"},
	{argv: []string{"ZADD", "z", " 1", "a"}, want: "ERR value is not a valid float"},
	{cmd: `ZADD z 0x10 hex`, want: "1"},
	{cmd: `ZADD z -inf ninf +inf pinf`, want: "2"},
	{cmd: `ZADD inf 1 m`, want: "1"},
	{cmd: `ZADD inf INCR +inf m`, want: "inf", want3: "+Inf"},
	{cmd: `ZADD inf INCR -inf m`, want: "ERR resulting score is not a number (NaN)"},
	{cmd: `ZINCRBY inf -inf m`, want: "ERR resulting score is not a number (NaN)"},
	{cmd: `ZSCORE inf m`, want: "inf", want3: "+Inf"},
	// ZINCRBY parses ZADD's options too
	{cmd: `ZINCRBY z 1.5 b`, want: "21.5"},
	{cmd: `ZINCRBY z x b`, want: "ERR value is not a valid float"},
	{cmd: `ZINCRBY z nx b`, want: "ERR syntax error"},
	{cmd: `ZINCRBY new 2 m`, want: "2"},
	{cmd: `ZSCORE z hex`, want: "16"},
	{cmd: `ZRANGE z 0 -1 WITHSCORES`, want: "[ninf -inf c 3 d 4 e 5 a 6 f 6 hex 16 b 21.5 pinf inf]", want3: "[[ninf -Inf] [c 3] [d 4] [e 5] [a 6] [f 6] [hex 16] [b 21.5] [pinf +Inf]]"},
	// ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZREM
	{cmd: `ZCARD z`, want: "9"},
	{cmd: `ZCARD nokey`, want: "0"},
	{cmd: `ZSCORE z b`, want: "21.5"},
	{cmd: `ZSCORE z nosuch`, want: "(nil)"},
	{cmd: `ZSCORE nokey a`, want: "(nil)"},
	{cmd: `ZMSCORE z a nosuch b`, want: "[6 (nil) 21.5]"},
	{cmd: `ZMSCORE nokey a b`, want: "[(nil) (nil)]"},
	{cmd: `ZRANK z a`, want: "4"},
	{cmd: `ZREVRANK z a`, want: "4"},
	{cmd: `ZRANK z nosuch`, want: "(nil)"},
	{cmd: `ZRANK nokey a`, want: "(nil)"},
	{cmd: `ZRANK z a WITHSCORE`, want: "ERR wrong number of arguments for 'zrank' command"},
	{cmd: `ZREM z a nosuch ninf`, want: "2"},
	{cmd: `ZREM nokey a`, want: "0"},
	{cmd: `ZREM z hex pinf b c d e f g`, want: "7"},
	{cmd: `EXISTS z`, want: "0"},
	// ZCOUNT ZLEXCOUNT
	{cmd: `ZADD s 1 a 2 b 3 c 4 d 5 e`, want: "5"},
	{cmd: `ZCOUNT s 2 4`, want: "3"},
	{cmd: `ZCOUNT s (2 (4`, want: "1"},
	{cmd: `ZCOUNT s -inf +inf`, want: "5"},
	{cmd: `ZCOUNT s (5 +inf`, want: "0"},
	{cmd: `ZCOUNT s 4 2`, want: "0"},
	{cmd: `ZCOUNT s x 1`, want: "ERR min or max is not a float"},
	{cmd: `ZCOUNT nokey x 1`, want: "ERR min or max is not a float"},
	{cmd: `ZCOUNT nokey 1 2`, want: "0"},
	{cmd: `ZADD l 0 a 0 b 0 c 0 d 0 e`, want: "5"},
	{cmd: `ZLEXCOUNT l - +`, want: "5"},
	{cmd: `ZLEXCOUNT l [b (d`, want: "2"},
	{cmd: `ZLEXCOUNT l (e +`, want: "0"},
	{cmd: `ZLEXCOUNT l + -`, want: "0"},
	{cmd: `ZLEXCOUNT l a +`, want: "ERR min or max not valid string range item"},
	{cmd: `ZLEXCOUNT l [a x`, want: "ERR min or max not valid string range item"},
	{cmd: `ZLEXCOUNT nokey - +`, want: "0"},
	// ZRANGE by rank
	{cmd: `ZRANGE s 0 -1`, want: "[a b c d e]"},
	{cmd: `ZRANGE s 0 -1 WITHSCORES`, want: "[a 1 b 2 c 3 d 4 e 5]", want3: "[[a 1] [b 2] [c 3] [d 4] [e 5]]"},
	{cmd: `ZRANGE s -2 100`, want: "[d e]"},
	{cmd: `ZRANGE s 3 1`, want: "[]"},
	{cmd: `ZRANGE s 10 20`, want: "[]"},
	{cmd: `ZRANGE s -100 0`, want: "[a]"},
	{cmd: `ZRANGE s 0 -1 REV`, want: "[e d c b a]"},
	{cmd: `ZRANGE s 0 1 REV WITHSCORES`, want: "[e 5 d 4]", want3: "[[e 5] [d 4]]"},
	{cmd: `ZRANGE s 0 -1 LIMIT 0 1`, want: "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"},
	{cmd: `ZRANGE s 0 -1 LIMIT 0 -1`, want: "[a b c d e]"},
	{cmd: `ZRANGE s 1.5 2`, want: "ERR value is not an integer or out of range"},
	{cmd: `ZRANGE s a b`, want: "ERR value is not an integer or out of range"},
	{cmd: `ZRANGE nokey 0 -1`, want: "[]"},
	{cmd: `ZRANGE nokey a b`, want: "ERR value is not an integer or out of range"},
	{cmd: `ZREVRANGE s 0 1`, want: "[e d]"},
	{cmd: `ZREVRANGE s 0 1 WITHSCORES`, want: "[e 5 d 4]", want3: "[[e 5] [d 4]]"},
	{cmd: `ZREVRANGE s 0 1 REV`, want: "ERR syntax error"},
	{cmd: `ZREVRANGE s 0 1 BYSCORE`, want: "ERR syntax error"},
	// ZRANGE by score
	{cmd: `ZRANGE s 2 4 BYSCORE`, want: "[b c d]"},
	{cmd: `ZRANGE s (2 4 BYSCORE WITHSCORES`, want: "[c 3 d 4]", want3: "[[c 3] [d 4]]"},
	{cmd: `ZRANGE s 4 2 BYSCORE REV`, want: "[d c b]"},
	{cmd: `ZRANGE s +inf -inf BYSCORE REV LIMIT 1 2`, want: "[d c]"},
	{cmd: `ZRANGE s -inf +inf BYSCORE LIMIT 1 -1`, want: "[b c d e]"},
	{cmd: `ZRANGE s -inf +inf BYSCORE LIMIT -1 2`, want: "[]"},
	{cmd: `ZRANGE s -inf +inf BYSCORE LIMIT 2 0`, want: "[]"},
	{cmd: `ZRANGE s -inf +inf BYSCORE LIMIT 10 2`, want: "[]"},
	{cmd: `ZRANGE s -inf +inf BYSCORE LIMIT 1`, want: "ERR syntax error"},
	{cmd: `ZRANGE s -inf +inf BYSCORE LIMIT x 1`, want: "ERR value is not an integer or out of range"},
	{cmd: `ZRANGE s x 1 BYSCORE`, want: "ERR min or max is not a float"},
	{cmd: `ZRANGE s (x 1 BYSCORE`, want: "ERR min or max is not a float"},
	{cmd: `ZRANGE s nan 1 BYSCORE`, want: "ERR min or max is not a float"},
	{cmd: `ZRANGE s 1e400 +inf BYSCORE`, want: "[]"},
	{cmd: `ZRANGE s 0x2 +inf BYSCORE`, want: "[b c d e]"},
	{cmd: `ZRANGE s 1 2 BYSCORE BYSCORE`, want: "ERR syntax error"},
	{cmd: `ZRANGE s 1 2 BYSCORE BYLEX`, want: "ERR syntax error"},
	{cmd: `ZRANGE s 1 2 REV REV`, want: "ERR syntax error"},
	{cmd: `ZRANGE s 1 2 FOO`, want: "ERR syntax error"},
	{cmd: `ZRANGEBYSCORE s 2 4`, want: "[b c d]"},
	{cmd: `ZRANGEBYSCORE s 2 4 WITHSCORES LIMIT 1 1`, want: "[c 3]", want3: "[[c 3]]"},
	{cmd: `ZRANGEBYSCORE s -inf +inf LIMIT 0 2 WITHSCORES`, want: "[a 1 b 2]", want3: "[[a 1] [b 2]]"},
	{cmd: `ZRANGEBYSCORE s 2 4 REV`, want: "ERR syntax error"},
	{cmd: `ZRANGEBYSCORE s 2 4 BYSCORE`, want: "ERR syntax error"},
	{cmd: `ZREVRANGEBYSCORE s 4 2`, want: "[d c b]"},
	{cmd: `ZREVRANGEBYSCORE s 4 2 WITHSCORES LIMIT 1 5`, want: "[c 3 b 2]", want3: "[[c 3] [b 2]]"},
	{cmd: `ZREVRANGEBYSCORE s 2 4`, want: "[]"},
	// ZRANGE by lex
	{cmd: `ZRANGE l [b [d BYLEX`, want: "[b c d]"},
	{cmd: `ZRANGE l (b + BYLEX LIMIT 1 2`, want: "[d e]"},
	{cmd: `ZRANGE l [d [b BYLEX REV`, want: "[d c b]"},
	{cmd: `ZRANGE l + - BYLEX REV LIMIT 0 2`, want: "[e d]"},
	{cmd: `ZRANGE l - + BYLEX WITHSCORES`, want: "ERR syntax error, WITHSCORES not supported in combination with BYLEX"},
	{cmd: `ZRANGE l b d BYLEX`, want: "ERR min or max not valid string range item"},
	{cmd: `ZRANGE l [b d BYLEX`, want: "ERR min or max not valid string range item"},
	{cmd: `ZRANGEBYLEX l - +`, want: "[a b c d e]"},
	{cmd: `ZRANGEBYLEX l - + LIMIT 2 2`, want: "[c d]"},
	{cmd: `ZRANGEBYLEX l - + WITHSCORES`, want: "ERR syntax error, WITHSCORES not supported in combination with BYLEX"},
	{cmd: `ZREVRANGEBYLEX l + -`, want: "[e d c b a]"},
	{cmd: `ZREVRANGEBYLEX l (d - LIMIT 1 1`, want: "[b]"},
	// ZRANGESTORE
	{cmd: `ZRANGESTORE dst s 1 3`, want: "3"},
	{cmd: `ZRANGE dst 0 -1 WITHSCORES`, want: "[b 2 c 3 d 4]", want3: "[[b 2] [c 3] [d 4]]"},
	{cmd: `ZRANGESTORE dst s 4 2 BYSCORE REV LIMIT 0 2`, want: "2"},
	{cmd: `ZRANGE dst 0 -1 WITHSCORES`, want: "[c 3 d 4]", want3: "[[c 3] [d 4]]"},
	{cmd: `ZRANGESTORE dst l [c + BYLEX`, want: "3"},
	{cmd: `ZRANGE dst 0 -1`, want: "[c d e]"},
	{cmd: `ZRANGESTORE dst s 10 20`, want: "0"},
	{cmd: `EXISTS dst`, want: "0"},
	{cmd: `ZRANGESTORE dst nokey 0 -1`, want: "0"},
	{cmd: `ZRANGESTORE dst s 0 -1 WITHSCORES`, want: "ERR syntax error"},
	{cmd: `SET str x`, want: "OK"},
	{cmd: `ZRANGESTORE dst str 0 -1`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `SET strz x`, want: "OK"},
	{cmd: `EXPIRE strz 100`, want: "1"},
	{cmd: `ZRANGESTORE strz s 0 0`, want: "1"},
	{cmd: `TYPE strz`, want: "zset"},
	{cmd: `TTL strz`, want: "-1"},
	// ZREMRANGEBY*
	{cmd: `ZADD r 1 a 2 b 3 c 4 d 5 e 6 f`, want: "6"},
	{cmd: `ZREMRANGEBYRANK r 0 1`, want: "2"},
	{cmd: `ZREMRANGEBYRANK r -1 -1`, want: "1"},
	{cmd: `ZREMRANGEBYRANK r 10 20`, want: "0"},
	{cmd: `ZREMRANGEBYRANK r x 1`, want: "ERR value is not an integer or out of range"},
	{cmd: `ZREMRANGEBYSCORE r (3 4`, want: "1"},
	{cmd: `ZREMRANGEBYSCORE r x 4`, want: "ERR min or max is not a float"},
	{cmd: `ZREMRANGEBYSCORE r 10 20`, want: "0"},
	{cmd: `ZRANGE r 0 -1`, want: "[c e]"},
	{cmd: `ZADD rl 0 a 0 b 0 c 0 d`, want: "4"},
	{cmd: `ZREMRANGEBYLEX rl [b (d`, want: "2"},
	{cmd: `ZREMRANGEBYLEX rl x +`, want: "ERR min or max not valid string range item"},
	{cmd: `ZRANGE rl 0 -1`, want: "[a d]"},
	{cmd: `ZREMRANGEBYLEX rl - +`, want: "2"},
	{cmd: `EXISTS rl`, want: "0"},
	{cmd: `ZREMRANGEBYRANK nokey 0 -1`, want: "0"},
	{cmd: `ZREMRANGEBYSCORE nokey 0 1`, want: "0"},
	{cmd: `ZREMRANGEBYLEX nokey - +`, want: "0"},
	// ZPOPMIN ZPOPMAX ZMPOP
	{cmd: `ZADD p 1 a 2 b 3 c 4 d`, want: "4"},
	{cmd: `ZPOPMIN p`, want: "[a 1]"},
	{cmd: `ZPOPMAX p`, want: "[d 4]"},
	{cmd: `ZPOPMIN p 0`, want: "[]"},
	{cmd: `ZPOPMIN p -1`, want: "ERR value is out of range, must be positive"},
	{cmd: `ZPOPMIN p x`, want: "ERR value is out of range, must be positive"},
	{cmd: `ZPOPMIN p 1 2`, want: "ERR syntax error"},
	{cmd: `ZADD p 5 e 6 f`, want: "2"},
	{cmd: `ZPOPMIN p 2`, want: "[b 2 c 3]", want3: "[[b 2] [c 3]]"},
	{cmd: `ZPOPMAX p 10`, want: "[f 6 e 5]", want3: "[[f 6] [e 5]]"},
	{cmd: `EXISTS p`, want: "0"},
	{cmd: `ZPOPMIN nokey`, want: "[]"},
	{cmd: `ZPOPMIN nokey 3`, want: "[]"},
	{cmd: `ZADD p 1 a 2 b 3 c`, want: "3"},
	{cmd: `ZMPOP 1 p MIN`, want: "[p [[a 1]]]"},
	{cmd: `ZMPOP 2 nokey p MAX COUNT 10`, want: "[p [[c 3] [b 2]]]"},
	{cmd: `ZMPOP 1 p MIN`, want: "(nil)"},
	{cmd: `ZMPOP 0 p MIN`, want: "ERR numkeys should be greater than 0"},
	{cmd: `ZMPOP x p MIN`, want: "ERR numkeys should be greater than 0"},
	{cmd: `ZMPOP 2 p MIN`, want: "ERR syntax error"},
	{cmd: `ZMPOP 1 p FOO`, want: "ERR syntax error"},
	{cmd: `ZMPOP 1 p MIN COUNT 0`, want: "ERR count should be greater than 0"},
	{cmd: `ZMPOP 1 p MIN COUNT x`, want: "ERR count should be greater than 0"},
	{cmd: `ZMPOP 1 p MIN COUNT 1 COUNT 2`, want: "ERR syntax error"},
	{cmd: `ZMPOP 1 p MIN COUNT`, want: "ERR syntax error"},
	{cmd: `ZMPOP 2 nokey str MIN`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `BZPOPMIN nokey 0.01`, want: "(nil)"},
	{cmd: `BZPOPMIN str 0`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `BZPOPMIN nokey -1`, want: "ERR timeout is negative"},
	{cmd: `BZPOPMIN nokey x`, want: "ERR timeout is not a float or out of range"},
	{cmd: `BZMPOP 0.01 1 nokey MIN`, want: "(nil)"},
	{cmd: `BZMPOP x 0 nokey MIN`, want: "ERR numkeys should be greater than 0"},
	{cmd: `BZMPOP x 1 nokey MIN`, want: "ERR timeout is not a float or out of range"},
	{cmd: `BZMPOP -1 1 nokey MIN`, want: "ERR timeout is negative"},
	{cmd: `ZADD p 1 a 2 b 3 c`, want: "3"},
	{cmd: `BZPOPMIN nokey p 0`, want: "[p a 1]"},
	{cmd: `BZPOPMAX p 0`, want: "[p c 3]"},
	{cmd: `BZMPOP 0 2 nokey p MIN COUNT 5`, want: "[p [[b 2]]]"},
	// ZUNION ZINTER ZDIFF ZINTERCARD and stores
	{cmd: `ZADD z1 1 a 2 b 3 c`, want: "3"},
	{cmd: `ZADD z2 10 b 20 c 30 d`, want: "3"},
	{cmd: `SADD set a d x`, want: "3"},
	{cmd: `ZUNION 2 z1 z2`, want: "[a b c d]"},
	{cmd: `ZUNION 2 z1 z2 WITHSCORES`, want: "[a 1 b 12 c 23 d 30]", want3: "[[a 1] [b 12] [c 23] [d 30]]"},
	{cmd: `ZUNION 3 z1 z2 set WITHSCORES`, want: "[x 1 a 2 b 12 c 23 d 31]", want3: "[[x 1] [a 2] [b 12] [c 23] [d 31]]"},
	{cmd: `ZUNION 2 z1 z2 WEIGHTS 2 0.5 WITHSCORES`, want: "[a 2 b 9 d 15 c 16]", want3: "[[a 2] [b 9] [d 15] [c 16]]"},
	{cmd: `ZUNION 2 z1 z2 AGGREGATE MIN WITHSCORES`, want: "[a 1 b 2 c 3 d 30]", want3: "[[a 1] [b 2] [c 3] [d 30]]"},
	{cmd: `ZUNION 2 z1 z2 AGGREGATE MAX WITHSCORES`, want: "[a 1 b 10 c 20 d 30]", want3: "[[a 1] [b 10] [c 20] [d 30]]"},
	{cmd: `ZUNION 2 z1 nokey WITHSCORES`, want: "[a 1 b 2 c 3]", want3: "[[a 1] [b 2] [c 3]]"},
	{cmd: `ZINTER 2 z1 z2 WITHSCORES`, want: "[b 12 c 23]", want3: "[[b 12] [c 23]]"},
	{cmd: `ZINTER 2 z1 z2 WEIGHTS 1 -1 AGGREGATE MAX WITHSCORES`, want: "[b 2 c 3]", want3: "[[b 2] [c 3]]"},
	{cmd: `ZINTER 2 z1 set WITHSCORES`, want: "[a 2]", want3: "[[a 2]]"},
	{cmd: `ZINTER 2 z1 nokey`, want: "[]"},
	{cmd: `ZINTER 2 z1 z1 WITHSCORES`, want: "[a 2 b 4 c 6]", want3: "[[a 2] [b 4] [c 6]]"},
	{cmd: `ZDIFF 2 z1 z2 WITHSCORES`, want: "[a 1]", want3: "[[a 1]]"},
	{cmd: `ZDIFF 2 set z1 WITHSCORES`, want: "[d 1 x 1]", want3: "[[d 1] [x 1]]"},
	{cmd: `ZDIFF 1 nokey`, want: "[]"},
	{cmd: `ZDIFF 2 z1 z1`, want: "[]"},
	{cmd: `ZINTERCARD 2 z1 z2`, want: "2"},
	{cmd: `ZINTERCARD 2 z1 z2 LIMIT 1`, want: "1"},
	{cmd: `ZINTERCARD 2 z1 z2 LIMIT 0`, want: "2"},
	{cmd: `ZINTERCARD 2 z1 z2 LIMIT -1`, want: "ERR LIMIT can't be negative"},
	{cmd: `ZINTERCARD 2 z1 z2 LIMIT x`, want: "ERR LIMIT can't be negative"},
	{cmd: `ZINTERCARD 2 z1 z2 WITHSCORES`, want: "ERR syntax error"},
	{cmd: `ZUNION 0 z1`, want: "ERR at least 1 input key is needed for 'zunion' command"},
	{cmd: `ZUNION -1 z1`, want: "ERR at least 1 input key is needed for 'zunion' command"},
	{cmd: `ZUNION x z1`, want: "ERR value is not an integer or out of range"},
	{cmd: `ZUNION 3 z1 z2`, want: "ERR syntax error"},
	{cmd: `ZUNION 2 z1 z2 WEIGHTS 1`, want: "ERR syntax error"},
	{cmd: `ZUNION 2 z1 z2 WEIGHTS 1 x`, want: "ERR weight value is not a float"},
	{cmd: `ZUNION 2 z1 z2 WEIGHTS 1 1e400`, want: "ERR weight value is not a float"},
	{cmd: `ZUNION 2 z1 z2 AGGREGATE`, want: "ERR syntax error"},
	{cmd: `ZUNION 2 z1 z2 AGGREGATE AVG`, want: "ERR syntax error"},
	{cmd: `ZUNION 2 z1 z2 FOO`, want: "ERR syntax error"},
	{cmd: `ZUNION 2 z1 str WEIGHTS x`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZDIFF 2 z1 z2 WEIGHTS 1 1`, want: "ERR syntax error"},
	{cmd: `ZDIFF 2 z1 z2 AGGREGATE SUM`, want: "ERR syntax error"},
	{cmd: `ZINTERCARD 0 z1`, want: "ERR at least 1 input key is needed for 'zintercard' command"},
	{cmd: `ZADD i1 +inf m`, want: "1"},
	{cmd: `ZADD i2 -inf m`, want: "1"},
	{cmd: `ZUNION 2 i1 i2 WITHSCORES`, want: "[m 0]", want3: "[[m 0]]"},
	{cmd: `ZINTER 2 i1 i2 WITHSCORES`, want: "[m 0]", want3: "[[m 0]]"},
	{cmd: `ZUNION 2 i1 i1 WEIGHTS 0 1 WITHSCORES`, want: "[m inf]", want3: "[[m +Inf]]"},
	{cmd: `ZINTER 2 i1 i2 AGGREGATE MIN WITHSCORES`, want: "[m -inf]", want3: "[[m -Inf]]"},
	{cmd: `ZUNIONSTORE out 2 z1 z2`, want: "4"},
	{cmd: `ZRANGE out 0 -1 WITHSCORES`, want: "[a 1 b 12 c 23 d 30]", want3: "[[a 1] [b 12] [c 23] [d 30]]"},
	{cmd: `ZUNIONSTORE out 2 z1 z2 WITHSCORES`, want: "ERR syntax error"},
	{cmd: `ZINTERSTORE out 2 z1 z2 WEIGHTS 2 3`, want: "2"},
	{cmd: `ZRANGE out 0 -1 WITHSCORES`, want: "[b 34 c 66]", want3: "[[b 34] [c 66]]"},
	{cmd: `ZDIFFSTORE out 2 z1 z2`, want: "1"},
	{cmd: `ZRANGE out 0 -1 WITHSCORES`, want: "[a 1]", want3: "[[a 1]]"},
	{cmd: `ZINTERSTORE out 2 z1 nokey`, want: "0"},
	{cmd: `EXISTS out`, want: "0"},
	{cmd: `ZDIFFSTORE out 0 z1`, want: "ERR at least 1 input key is needed for 'zdiffstore' command"},
	{cmd: `SET strz2 x`, want: "OK"},
	{cmd: `ZUNIONSTORE strz2 1 z1`, want: "3"},
	{cmd: `TYPE strz2`, want: "zset"},
	{cmd: `ZUNIONSTORE z1 2 z1 z2 AGGREGATE MAX`, want: "4"},
	{cmd: `ZRANGE z1 0 -1 WITHSCORES`, want: "[a 1 b 10 c 20 d 30]", want3: "[[a 1] [b 10] [c 20] [d 30]]"},
	// ZRANDMEMBER
	{cmd: `ZRANDMEMBER nokey`, want: "(nil)"},
	{cmd: `ZRANDMEMBER nokey 5`, want: "[]"},
	{cmd: `ZRANDMEMBER nokey x`, want: "ERR value is not an integer or out of range"},
	{cmd: `ZRANDMEMBER nokey 1 foo`, want: "ERR syntax error"},
	{cmd: `ZRANDMEMBER nokey 1 WITHSCORES x`, want: "ERR syntax error"},
	{cmd: `ZADD one 7 m`, want: "1"},
	{cmd: `ZRANDMEMBER one`, want: "m"},
	{cmd: `ZRANDMEMBER one 0`, want: "[]"},
	{cmd: `ZRANDMEMBER one 5`, want: "[m]"},
	{cmd: `ZRANDMEMBER one -3`, want: "[m m m]"},
	{cmd: `ZRANDMEMBER one 5 WITHSCORES`, want: "[m 7]", want3: "[[m 7]]"},
	{cmd: `ZRANDMEMBER one -2 WITHSCORES`, want: "[m 7 m 7]", want3: "[[m 7] [m 7]]"},
	{cmd: `ZRANDMEMBER one -9223372036854775808`, want: "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"},
	{cmd: `ZRANDMEMBER one 9223372036854775807 WITHSCORES`, want: "ERR value is out of range"},
	{cmd: `ZRANDMEMBER one -4611686018427387904 WITHSCORES`, want: "ERR value is out of range"},
	{cmd: `ZRANDMEMBER str`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZRANDMEMBER str 1`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	// ZSCAN
	{cmd: `ZSCAN one 0`, want: "[0 [m 7]]"},
	{cmd: `ZSCAN one 0 MATCH m* COUNT 5`, want: "[0 [m 7]]"},
	{cmd: `ZSCAN one 0 MATCH x*`, want: "[0 []]"},
	{cmd: `ZSCAN one 0 COUNT 0`, want: "ERR syntax error"},
	{cmd: `ZSCAN one 0 COUNT x`, want: "ERR value is not an integer or out of range"},
	{cmd: `ZSCAN one 0 NOVALUES`, want: "ERR syntax error"},
	{cmd: `ZSCAN one x`, want: "ERR invalid cursor"},
	{cmd: `ZSCAN nokey 0`, want: "[0 []]"},
	{cmd: `ZSCAN nokey 0 COUNT x`, want: "[0 []]"},
	{cmd: `ZSCAN str 0`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	// WRONGTYPE
	{cmd: `ZADD str 1 a`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZADD str x a`, want: "ERR value is not a valid float"},
	{cmd: `ZINCRBY str 1 a`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZREM str a`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZCARD str`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZSCORE str a`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZMSCORE str a`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZRANK str a`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZCOUNT str 0 1`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZLEXCOUNT str - +`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZRANGE str 0 -1`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZRANGEBYSCORE str 0 1`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZREMRANGEBYRANK str 0 1`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZPOPMIN str`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZUNION 1 str`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	{cmd: `ZINTERCARD 1 str`, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
	// -0 is kept by the skiplist only
	{cmd: `ZADD nz -0 a`, want: "1"},
	{cmd: `ZSCORE nz a`, want: "0"},
	{cmd: `ZINCRBY nz2 -0 a`, want: "-0"},
	{cmd: `ZSCORE nz2 a`, want: "0"},
}

// TestZSetWire checks exact bytes: scores as Redis 7.0 formats them
// (%.17g, integers plain, inf), RESP2 flat pairs against RESP3 doubles
// and nested [member, score] arrays, and the null shapes.
func TestZSetWire(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	common := []string{
		"ZADD w 1 a 0.1 b 1e20 c -inf d 1.5 e\r\n", ":5\r\n",
		"ZSCAN w 0\r\n", "*2\r\n$1\r\n0\r\n*10\r\n$1\r\nd\r\n$4\r\n-inf\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\ne\r\n$3\r\n1.5\r\n$1\r\nc\r\n$5\r\n1e+20\r\n",
		"ZRANGE w 0 -1\r\n", "*5\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\ne\r\n$1\r\nc\r\n",
		"ZPOPMIN nokey\r\n", "*0\r\n",
		"ZRANGE nokey 0 -1\r\n", "*0\r\n",
		"ZADD n -0 a\r\n", ":1\r\n",
	}
	resp2 := []string{
		"ZRANGE w 0 -1 WITHSCORES\r\n", "*10\r\n$1\r\nd\r\n$4\r\n-inf\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\ne\r\n$3\r\n1.5\r\n$1\r\nc\r\n$5\r\n1e+20\r\n",
		"ZRANGEBYSCORE w (0 2 WITHSCORES LIMIT 0 2\r\n", "*4\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n",
		"ZSCORE w b\r\n", "$19\r\n0.10000000000000001\r\n",
		"ZMSCORE w b nosuch\r\n", "*2\r\n$19\r\n0.10000000000000001\r\n$-1\r\n",
		"ZINCRBY w 0.25 e\r\n", "$4\r\n1.75\r\n",
		"ZADD w INCR XX 1 nosuch\r\n", "$-1\r\n",
		"ZUNION 1 w WITHSCORES\r\n", "*10\r\n$1\r\nd\r\n$4\r\n-inf\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\ne\r\n$4\r\n1.75\r\n$1\r\nc\r\n$5\r\n1e+20\r\n",
		"ZRANDMEMBER n -2 WITHSCORES\r\n", "*4\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\n0\r\n",
		"ZPOPMIN w\r\n", "*2\r\n$1\r\nd\r\n$4\r\n-inf\r\n",
		"ZPOPMAX w 1\r\n", "*2\r\n$1\r\nc\r\n$5\r\n1e+20\r\n",
		"ZMPOP 1 w MIN COUNT 1\r\n", "*2\r\n$1\r\nw\r\n*1\r\n*2\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n",
		"BZPOPMAX w 0\r\n", "*3\r\n$1\r\nw\r\n$1\r\ne\r\n$4\r\n1.75\r\n",
		"BZMPOP 0 1 w MIN\r\n", "*2\r\n$1\r\nw\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
		"BZPOPMIN w 0.01\r\n", "*-1\r\n",
		"BZMPOP 0.01 1 w MIN\r\n", "*-1\r\n",
		"ZMPOP 1 w MIN\r\n", "*-1\r\n",
		"ZRANDMEMBER w\r\n", "$-1\r\n",
		"ZRANK w a\r\n", "$-1\r\n",
		"ZSCORE w a\r\n", "$-1\r\n",
		"ZMSCORE w a\r\n", "*1\r\n$-1\r\n",
		"ZSCORE n a\r\n", "$1\r\n0\r\n",
		"ZINCRBY n2 -0 a\r\n", "$2\r\n-0\r\n",
	}
	resp3 := []string{
		"ZRANGE w 0 -1 WITHSCORES\r\n", "*5\r\n*2\r\n$1\r\nd\r\n,-inf\r\n*2\r\n$1\r\nb\r\n,0.10000000000000001\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\ne\r\n,1.5\r\n*2\r\n$1\r\nc\r\n,1e+20\r\n",
		"ZRANGEBYSCORE w (0 2 WITHSCORES LIMIT 0 2\r\n", "*2\r\n*2\r\n$1\r\nb\r\n,0.10000000000000001\r\n*2\r\n$1\r\na\r\n,1\r\n",
		"ZSCORE w b\r\n", ",0.10000000000000001\r\n",
		"ZMSCORE w b nosuch\r\n", "*2\r\n,0.10000000000000001\r\n_\r\n",
		"ZINCRBY w 0.25 e\r\n", ",1.75\r\n",
		"ZADD w INCR XX 1 nosuch\r\n", "_\r\n",
		"ZUNION 1 w WITHSCORES\r\n", "*5\r\n*2\r\n$1\r\nd\r\n,-inf\r\n*2\r\n$1\r\nb\r\n,0.10000000000000001\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\ne\r\n,1.75\r\n*2\r\n$1\r\nc\r\n,1e+20\r\n",
		"ZRANDMEMBER n -2 WITHSCORES\r\n", "*2\r\n*2\r\n$1\r\na\r\n,0\r\n*2\r\n$1\r\na\r\n,0\r\n",
		"ZPOPMIN w\r\n", "*2\r\n$1\r\nd\r\n,-inf\r\n",
		"ZPOPMAX w 1\r\n", "*1\r\n*2\r\n$1\r\nc\r\n,1e+20\r\n",
		"ZMPOP 1 w MIN COUNT 1\r\n", "*2\r\n$1\r\nw\r\n*1\r\n*2\r\n$1\r\nb\r\n,0.10000000000000001\r\n",
		"BZPOPMAX w 0\r\n", "*3\r\n$1\r\nw\r\n$1\r\ne\r\n,1.75\r\n",
		"BZMPOP 0 1 w MIN\r\n", "*2\r\n$1\r\nw\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n",
		"BZPOPMIN w 0.01\r\n", "_\r\n",
		"BZMPOP 0.01 1 w MIN\r\n", "_\r\n",
		"ZMPOP 1 w MIN\r\n", "_\r\n",
		"ZRANDMEMBER w\r\n", "_\r\n",
		"ZRANK w a\r\n", "_\r\n",
		"ZSCORE w a\r\n", "_\r\n",
		"ZMSCORE w a\r\n", "*1\r\n_\r\n",
		"ZSCORE n a\r\n", ",0\r\n",
		"ZINCRBY n2 -0 a\r\n", ",-0\r\n",
	}
	for proto, pairs := range map[int][]string{2: resp2, 3: resp3} {
		c := wireConn(t, ts, proto)
		c.Send("FLUSHALL\r\n")
		c.Expect("+OK\r\n")
		for _, seq := range [][]string{common, pairs} {
			for i := 0; i < len(seq); i += 2 {
				c.Send(seq[i])
				c.Expect(seq[i+1])
			}
		}
	}
}

// TestZSetEncoding follows OBJECT ENCODING through Redis 7.0's rules: a
// listpack until more than zset-max-listpack-entries members or a member
// longer than zset-max-listpack-value bytes, then a skiplist for good
// (removals do not convert back); stored results start small again. A
// negative zero survives only in a skiplist, as in Redis.
func TestZSetEncoding(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		enc := func(key, want string) {
			t.Helper()
			if got := rdb.ObjectEncoding(ctx, key).Val(); got != want {
				t.Fatalf("OBJECT ENCODING %s = %q, want %q", key, got, want)
			}
		}
		for i := 0; i < 128; i++ {
			rdb.ZAdd(ctx, "big", goredis.Z{Score: float64(i), Member: fmt.Sprint("m", i)})
		}
		enc("big", "listpack")
		rdb.ZAdd(ctx, "big", goredis.Z{Score: 1000, Member: "m128"})
		enc("big", "skiplist")
		rdb.ZPopMax(ctx, "big", 100)
		enc("big", "skiplist")
		if n := rdb.ZCard(ctx, "big").Val(); n != 29 {
			t.Fatalf("ZCARD after pops = %d", n)
		}

		// 129 pairs naming one member: still one member, a listpack.
		args := []any{"ZADD", "dup"}
		for i := 0; i < 129; i++ {
			args = append(args, "1", "a")
		}
		rdb.Do(ctx, args...)
		enc("dup", "listpack")

		long := strings.Repeat("x", 65)
		rdb.ZAdd(ctx, "long", goredis.Z{Score: 1, Member: "a"})
		enc("long", "listpack")
		rdb.ZAdd(ctx, "long", goredis.Z{Score: 2, Member: long})
		enc("long", "skiplist")
		rdb.ZRem(ctx, "long", long)
		enc("long", "skiplist")

		// Stored results take the small encoding when they fit.
		rdb.ZUnionStore(ctx, "u", &goredis.ZStore{Keys: []string{"big"}})
		enc("u", "listpack")
		rdb.ZRangeStore(ctx, "r", goredis.ZRangeArgs{Key: "big", Start: 0, Stop: -1})
		enc("r", "listpack")
		rdb.ZAdd(ctx, "big", goredis.Z{Score: -1, Member: long})
		rdb.ZUnionStore(ctx, "u", &goredis.ZStore{Keys: []string{"big"}})
		enc("u", "skiplist")

		// The thresholds are settings.
		rdb.ConfigSet(ctx, "zset-max-listpack-entries", "2")
		rdb.ZAdd(ctx, "small", goredis.Z{Score: 1, Member: "a"}, goredis.Z{Score: 2, Member: "b"})
		enc("small", "listpack")
		rdb.ZAdd(ctx, "small", goredis.Z{Score: 3, Member: "c"})
		enc("small", "skiplist")
		rdb.ConfigSet(ctx, "zset-max-listpack-entries", "0")
		rdb.ZAdd(ctx, "zero", goredis.Z{Score: math.Copysign(0, -1), Member: "a"})
		enc("zero", "skiplist")
		if s := rdb.Do(ctx, "ZSCORE", "zero", "a").String(); !strings.HasSuffix(s, "-0") {
			t.Fatalf("skiplist lost -0: %s", s)
		}
		rdb.ConfigSet(ctx, "zset-max-listpack-entries", "128")
		rdb.ConfigSet(ctx, "zset-max-listpack-value", "3")
		rdb.ZAdd(ctx, "val", goredis.Z{Score: 1, Member: "abc"})
		enc("val", "listpack")
		rdb.ZAdd(ctx, "val", goredis.Z{Score: 1, Member: "abcd"})
		enc("val", "skiplist")
		rdb.ConfigSet(ctx, "zset-max-listpack-value", "64")
	})
}

// zmodel is a naive sorted set to check ranges against.
type zmodel []goredis.Z

func (m zmodel) sorted() zmodel {
	s := slices.Clone(m)
	slices.SortFunc(s, func(a, b goredis.Z) int {
		if a.Score != b.Score {
			if a.Score < b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Member.(string), b.Member.(string))
	})
	return s
}

func zmembers(zs []goredis.Z) []string {
	out := make([]string, len(zs))
	for i, z := range zs {
		out[i] = z.Member.(string)
	}
	return out
}

// TestZSetLargeRanges checks a 10000-member skiplist against a model:
// rank, score and lex ranges in both directions with LIMIT, counts, ranks
// and removals.
func TestZSetLargeRanges(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, proto := range []int{2, 3} {
		rdb := clientFor(t, ts, proto)
		rdb.FlushAll(ctx)
		const n = 10000
		var model zmodel
		seen := map[string]bool{}
		batch := make([]goredis.Z, 0, 1000)
		for len(model) < n {
			m := strconv.FormatUint(rng.Uint64()%1e9, 36)
			if seen[m] {
				continue
			}
			seen[m] = true
			z := goredis.Z{Score: float64(rng.IntN(5000)) / 4, Member: m}
			model = append(model, z)
			batch = append(batch, z)
			if len(batch) == cap(batch) {
				if err := rdb.ZAdd(ctx, "big", batch...).Err(); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		// The same members with score 0, for lex ranges.
		lex := make([]goredis.Z, n)
		for i, z := range model {
			lex[i] = goredis.Z{Score: 0, Member: z.Member}
		}
		if err := rdb.ZAdd(ctx, "lex", lex...).Err(); err != nil {
			t.Fatal(err)
		}
		sorted := model.sorted()
		lexSorted := zmodel(lex).sorted()
		if rdb.ObjectEncoding(ctx, "big").Val() != "skiplist" || rdb.ZCard(ctx, "big").Val() != n {
			t.Fatal("not a full skiplist")
		}
		if got := rdb.ZRangeWithScores(ctx, "big", 0, -1).Val(); !slices.Equal(got, []goredis.Z(sorted)) {
			t.Fatalf("RESP%d: full range differs", proto)
		}
		for i := 0; i < 60; i++ {
			// By rank: spans up to 1000 members from anywhere, counted
			// from either end.
			a := rng.IntN(2*n) - n
			b := a + rng.IntN(1000)
			if b >= 0 && a < 0 && rng.IntN(2) == 0 {
				b = -1 - rng.IntN(n)
			}
			got := rdb.ZRange(ctx, "big", int64(a), int64(b)).Val()
			want := zmembers(rankSlice(sorted, a, b))
			if !slices.Equal(got, want) {
				t.Fatalf("ZRANGE %d %d: %d members, want %d", a, b, len(got), len(want))
			}
			gotRev := rdb.ZRevRange(ctx, "big", int64(a), int64(b)).Val()
			rev := slices.Clone(sorted)
			slices.Reverse(rev)
			if want := zmembers(rankSlice(rev, a, b)); !slices.Equal(gotRev, want) {
				t.Fatalf("ZREVRANGE %d %d differs", a, b)
			}
			// By score, with exclusive bounds and LIMIT.
			lo, hi := float64(rng.IntN(5200)-100)/4, float64(rng.IntN(5200)-100)/4
			loEx, hiEx := rng.IntN(2) == 0, rng.IntN(2) == 0
			off, cnt := rng.IntN(50), rng.IntN(300)-1
			var in zmodel
			for _, z := range sorted {
				if (z.Score > lo || !loEx && z.Score == lo) && (z.Score < hi || !hiEx && z.Score == hi) {
					in = append(in, z)
				}
			}
			bound := func(f float64, ex bool) string {
				s := strconv.FormatFloat(f, 'f', -1, 64)
				if ex {
					return "(" + s
				}
				return s
			}
			byScore := goredis.ZRangeBy{Min: bound(lo, loEx), Max: bound(hi, hiEx), Offset: int64(off), Count: int64(cnt)}
			gotS := rdb.ZRangeByScoreWithScores(ctx, "big", &byScore).Val()
			if want := limitSlice(in, off, cnt); !slices.Equal(gotS, []goredis.Z(want)) {
				t.Fatalf("ZRANGEBYSCORE %v: %d members, want %d", byScore, len(gotS), len(want))
			}
			revIn := slices.Clone(in)
			slices.Reverse(revIn)
			byScore.Min, byScore.Max = bound(lo, loEx), bound(hi, hiEx)
			gotRS := rdb.ZRevRangeByScore(ctx, "big", &byScore).Val()
			if want := zmembers(limitSlice(revIn, off, cnt)); !slices.Equal(gotRS, want) {
				t.Fatalf("ZREVRANGEBYSCORE %v differs", byScore)
			}
			if c := rdb.ZCount(ctx, "big", byScore.Min, byScore.Max).Val(); c != int64(len(in)) {
				t.Fatalf("ZCOUNT %s %s = %d, want %d", byScore.Min, byScore.Max, c, len(in))
			}
			// By lex.
			x, y := lexSorted[rng.IntN(n)].Member.(string), lexSorted[rng.IntN(n)].Member.(string)
			if x > y {
				x, y = y, x
			}
			var lin []string
			for _, z := range lexSorted {
				if m := z.Member.(string); m > x && m <= y {
					lin = append(lin, m)
				}
			}
			gotL := rdb.ZRangeByLex(ctx, "lex", &goredis.ZRangeBy{Min: "(" + x, Max: "[" + y, Offset: int64(off), Count: int64(cnt)}).Val()
			if want := limitSlice(lin, off, cnt); !slices.Equal(gotL, want) && !(len(gotL) == 0 && len(want) == 0) {
				t.Fatalf("ZRANGEBYLEX (%s [%s: %d members, want %d", x, y, len(gotL), len(want))
			}
			if c := rdb.ZLexCount(ctx, "lex", "("+x, "["+y).Val(); c != int64(len(lin)) {
				t.Fatalf("ZLEXCOUNT = %d, want %d", c, len(lin))
			}
			// Ranks.
			k := rng.IntN(n)
			if r := rdb.ZRank(ctx, "big", sorted[k].Member.(string)).Val(); r != int64(k) {
				t.Fatalf("ZRANK = %d, want %d", r, k)
			}
			if r := rdb.ZRevRank(ctx, "big", sorted[k].Member.(string)).Val(); r != int64(n-1-k) {
				t.Fatalf("ZREVRANK = %d, want %d", r, n-1-k)
			}
		}
		// A stored range of the whole set, and removals by rank, score
		// and lex.
		if c := rdb.ZRangeStore(ctx, "copy", goredis.ZRangeArgs{Key: "big", Start: "-inf", Stop: "+inf", ByScore: true}).Val(); c != n {
			t.Fatalf("ZRANGESTORE stored %d", c)
		}
		if c := rdb.ZRemRangeByRank(ctx, "copy", 100, 199).Val(); c != 100 {
			t.Fatalf("ZREMRANGEBYRANK removed %d", c)
		}
		cut := sorted[1000].Score
		want := 0
		for _, z := range append(slices.Clone(sorted[:100]), sorted[200:]...) {
			if z.Score <= cut {
				want++
			}
		}
		if c := rdb.ZRemRangeByScore(ctx, "copy", "-inf", strconv.FormatFloat(cut, 'f', -1, 64)).Val(); c != int64(want) {
			t.Fatalf("ZREMRANGEBYSCORE removed %d, want %d", c, want)
		}
		if c := rdb.ZCard(ctx, "copy").Val(); c != int64(n-100-want) {
			t.Fatalf("ZCARD = %d", c)
		}
		mid := lexSorted[n/2].Member.(string)
		if c := rdb.ZRemRangeByLex(ctx, "lex", "-", "("+mid).Val(); c != n/2 {
			t.Fatalf("ZREMRANGEBYLEX removed %d", c)
		}
		if m := rdb.ZRange(ctx, "lex", 0, 0).Val(); len(m) != 1 || m[0] != mid {
			t.Fatalf("first after ZREMRANGEBYLEX: %v", m)
		}
		// Popping a big chunk from both ends.
		const pop = n / 4
		mins := rdb.ZPopMin(ctx, "big", pop).Val()
		maxs := rdb.ZPopMax(ctx, "big", pop).Val()
		if !slices.Equal(mins, []goredis.Z(sorted[:pop])) {
			t.Fatal("ZPOPMIN differs")
		}
		rev := slices.Clone(sorted[n-pop:])
		slices.Reverse(rev)
		if !slices.Equal(maxs, []goredis.Z(rev)) {
			t.Fatal("ZPOPMAX differs")
		}
		// ZSCAN visits every member once the cursor comes back to 0.
		got := map[string]float64{}
		var cursor uint64
		for {
			keys, next, err := rdb.ZScan(ctx, "big", cursor, "", 100).Result()
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(keys); i += 2 {
				f, _ := strconv.ParseFloat(keys[i+1], 64)
				got[keys[i]] = f
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		if len(got) != n-2*pop {
			t.Fatalf("ZSCAN saw %d members", len(got))
		}
		for _, z := range sorted[pop : n-pop] {
			if got[z.Member.(string)] != z.Score {
				t.Fatalf("ZSCAN score of %v = %v", z.Member, got[z.Member.(string)])
			}
		}
	}
}

// rankSlice applies ZRANGE's start/stop rules to a sorted model.
func rankSlice[T any](s []T, start, stop int) []T {
	a, b, n := listRange(int64(start), int64(stop), int64(len(s)))
	if n == 0 {
		return nil
	}
	return s[a : b+1]
}

// limitSlice applies LIMIT offset count (count < 0: all).
func limitSlice[T any](s []T, off, cnt int) []T {
	if off >= len(s) {
		return nil
	}
	s = s[off:]
	if cnt >= 0 && cnt < len(s) {
		s = s[:cnt]
	}
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestZSetBlockingPops covers BZPOPMIN, BZPOPMAX and BZMPOP: served at
// once when there is data, woken by a ZADD from another client, timing
// out, served in blocking order, not blocking inside MULTI, and (as Redis
// 7.0) staying blocked when the key turns into another type.
func TestZSetBlockingPops(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", proto), func(t *testing.T) {
			adder := clientFor(t, ts, proto)
			adder.FlushAll(ctx)

			// Immediate.
			adder.ZAdd(ctx, "z", goredis.Z{Score: 1, Member: "a"}, goredis.Z{Score: 2, Member: "b"})
			if v := adder.BZPopMax(ctx, time.Second, "none", "z").Val(); v == nil || v.Key != "z" || v.Member != "b" || v.Score != 2 {
				t.Fatalf("BZPOPMAX: %+v", v)
			}

			// Timeout.
			start := time.Now()
			if err := clientFor(t, ts, proto).Do(ctx, "BZPOPMIN", "empty", "0.1").Err(); err != goredis.Nil {
				t.Fatalf("BZPOPMIN timeout: %v", err)
			}
			if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
				t.Fatalf("timed out after %v", d)
			}
			if err := clientFor(t, ts, proto).Do(ctx, "BZMPOP", "0.05", "1", "empty", "MIN").Err(); err != goredis.Nil {
				t.Fatalf("BZMPOP timeout: %v", err)
			}

			// Woken by a ZADD from another client.
			got := make(chan *goredis.ZWithKey, 1)
			popper := clientFor(t, ts, proto)
			go func() { got <- popper.BZPopMin(ctx, 5*time.Second, "q1", "q2").Val() }()
			waitBlocked(t, adder, 1)
			adder.ZAdd(ctx, "q2", goredis.Z{Score: 3, Member: "x"}, goredis.Z{Score: 1, Member: "y"})
			if v := <-got; v == nil || v.Key != "q2" || v.Member != "y" || v.Score != 1 {
				t.Fatalf("woken BZPOPMIN: %+v", v)
			}
			if adder.ZCard(ctx, "q2").Val() != 1 {
				t.Fatal("BZPOPMIN took more than one member")
			}

			// BZMPOP with COUNT, woken by ZUNIONSTORE.
			type mpop struct {
				key string
				zs  []goredis.Z
				err error
			}
			mres := make(chan mpop, 1)
			go func() {
				k, zs, err := popper.BZMPop(ctx, 5*time.Second, "max", 2, "m1").Result()
				mres <- mpop{k, zs, err}
			}()
			waitBlocked(t, adder, 1)
			adder.ZUnionStore(ctx, "m1", &goredis.ZStore{Keys: []string{"q2"}, Weights: []float64{2}})
			if r := <-mres; r.err != nil || r.key != "m1" || len(r.zs) != 1 || r.zs[0] != (goredis.Z{Score: 6, Member: "x"}) {
				t.Fatalf("BZMPOP: %+v", r)
			}

			// Served in the order they blocked; each takes one member.
			const n = 4
			results := make(chan string, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				c := clientFor(t, ts, proto)
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					v, err := c.BZPopMin(ctx, 5*time.Second, "fifo").Result()
					if err != nil {
						results <- fmt.Sprint("err ", err)
						return
					}
					results <- fmt.Sprintf("%d:%s", i, v.Member)
				}(i)
				waitBlocked(t, adder, i+1)
			}
			for i := 0; i < n; i++ {
				adder.ZAdd(ctx, "fifo", goredis.Z{Score: float64(i), Member: fmt.Sprint("m", i)})
			}
			wg.Wait()
			close(results)
			seen := map[string]bool{}
			for r := range results {
				seen[r] = true
			}
			for i := 0; i < n; i++ {
				if !seen[fmt.Sprintf("%d:m%d", i, i)] {
					t.Fatalf("not served in order: %v", seen)
				}
			}
			// Several members at once wake several waiters.
			for i := 0; i < 2; i++ {
				c := clientFor(t, ts, proto)
				wg.Add(1)
				go func() { defer wg.Done(); c.BZPopMax(ctx, 5*time.Second, "many") }()
				waitBlocked(t, adder, i+1)
			}
			adder.ZAdd(ctx, "many", goredis.Z{Score: 1, Member: "a"}, goredis.Z{Score: 2, Member: "b"}, goredis.Z{Score: 3, Member: "c"})
			wg.Wait()
			if m := adder.ZRange(ctx, "many", 0, -1).Val(); !slices.Equal(m, []string{"a"}) {
				t.Fatalf("left after two BZPOPMAX: %v", m)
			}

			// No blocking inside MULTI: the timeout reply at once.
			cmds, _ := adder.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.BZPopMin(ctx, 0, "empty")
				p.BZMPop(ctx, 0, "min", 1, "empty")
				return nil
			})
			for _, cmd := range cmds {
				if cmd.Err() != goredis.Nil {
					t.Fatalf("%v in MULTI: %v", cmd.Args(), cmd.Err())
				}
			}

			// WRONGTYPE before blocking; a key that changes type while a
			// client waits does not serve it (it times out), as in Redis.
			adder.Set(ctx, "str", "x", 0)
			if err := adder.BZPopMin(ctx, 0, "str").Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
				t.Fatalf("BZPOPMIN on a string: %v", err)
			}
			errc := make(chan error, 1)
			go func() { errc <- popper.Do(ctx, "BZPOPMIN", "morph", "0.3").Err() }()
			waitBlocked(t, adder, 1)
			adder.RPush(ctx, "morph", "x")
			if err := <-errc; err != goredis.Nil {
				t.Fatalf("BZPOPMIN on a key turned list: %v", err)
			}
		})
	}
}

// TestZSetNotifications checks the keyspace events of every writing
// command.
func TestZSetNotifications(t *testing.T) {
	got := collectEvents(t, func(ctx context.Context, rdb *goredis.Client) {
		rdb.ZAdd(ctx, "z", goredis.Z{Score: 1, Member: "a"}, goredis.Z{Score: 2, Member: "b"})
		rdb.ZAdd(ctx, "z", goredis.Z{Score: 1, Member: "a"}) // no change: no event
		rdb.ZIncrBy(ctx, "z", 1, "a")
		rdb.ZAddArgsIncr(ctx, "z", goredis.ZAddArgs{Members: []goredis.Z{{Score: 1, Member: "c"}}})
		rdb.ZRem(ctx, "z", "nosuch")
		rdb.ZRem(ctx, "z", "c")
		rdb.ZAdd(ctx, "z", goredis.Z{Score: 5, Member: "c"}, goredis.Z{Score: 6, Member: "d"}, goredis.Z{Score: 7, Member: "e"})
		rdb.ZRemRangeByRank(ctx, "z", 0, 0)
		rdb.ZRemRangeByScore(ctx, "z", "6", "6")
		rdb.ZRemRangeByLex(ctx, "z", "[e", "[e")
		rdb.ZRemRangeByLex(ctx, "z", "[x", "[y") // nothing removed
		rdb.ZPopMin(ctx, "z", 1)
		rdb.ZAdd(ctx, "z", goredis.Z{Score: 1, Member: "a"})
		rdb.ZPopMax(ctx, "z", 5)
		rdb.ZAdd(ctx, "z", goredis.Z{Score: 1, Member: "a"})
		rdb.BZPopMin(ctx, time.Second, "z")
		rdb.ZAdd(ctx, "z", goredis.Z{Score: 1, Member: "a"}, goredis.Z{Score: 2, Member: "b"})
		rdb.ZMPop(ctx, "max", 1, "z")
		rdb.ZUnionStore(ctx, "u", &goredis.ZStore{Keys: []string{"z"}})
		rdb.ZInterStore(ctx, "i", &goredis.ZStore{Keys: []string{"z", "u"}})
		rdb.ZDiffStore(ctx, "d", "z", "nokey")
		rdb.ZRangeStore(ctx, "r", goredis.ZRangeArgs{Key: "z", Start: 0, Stop: -1})
		rdb.ZInterStore(ctx, "u", &goredis.ZStore{Keys: []string{"z", "nokey"}}) // empty: deletes u
		rdb.ZRangeStore(ctx, "r", goredis.ZRangeArgs{Key: "nokey", Start: 0, Stop: -1})
	})
	want := []string{
		"zadd z", "zincr z", "zincr z", "zrem z", "zadd z",
		"zremrangebyrank z", "zremrangebyscore z", "zremrangebylex z",
		"zpopmin z", "zadd z", "zpopmax z", "del z", "zadd z", "zpopmin z", "del z",
		"zadd z", "zpopmax z", "zunionstore u", "zinterstore i", "zdiffstore d", "zrangestore r",
		"del u", "del r",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}

// TestZSetClient drives go-redis's typed sorted set API, which decodes
// RESP2 and RESP3 replies differently (pairs, doubles, nested arrays).
func TestZSetClient(t *testing.T) {
	forBothProtocols(t, func(t *testing.T, ctx context.Context, rdb *goredis.Client) {
		check := func(got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		check(rdb.ZAdd(ctx, "z", goredis.Z{Score: 1.5, Member: "a"}, goredis.Z{Score: 2, Member: "b"}, goredis.Z{Score: 3, Member: "c"}).Val(), 3)
		check(rdb.ZAddArgs(ctx, "z", goredis.ZAddArgs{GT: true, Ch: true, Members: []goredis.Z{{Score: 1, Member: "a"}, {Score: 4, Member: "b"}}}).Val(), 1)
		check(rdb.ZAddArgsIncr(ctx, "z", goredis.ZAddArgs{Members: []goredis.Z{{Score: 0.5, Member: "a"}}}).Val(), 2)
		check(rdb.ZIncrBy(ctx, "z", -0.25, "c").Val(), 2.75)
		check(rdb.ZScore(ctx, "z", "c").Val(), 2.75)
		check(rdb.ZMScore(ctx, "z", "a", "nosuch", "b").Val(), []float64{2, 0, 4})
		check(rdb.ZRangeWithScores(ctx, "z", 0, -1).Val(), []goredis.Z{{Score: 2, Member: "a"}, {Score: 2.75, Member: "c"}, {Score: 4, Member: "b"}})
		check(rdb.ZRevRangeWithScores(ctx, "z", 0, 0).Val(), []goredis.Z{{Score: 4, Member: "b"}})
		check(rdb.ZRangeArgsWithScores(ctx, goredis.ZRangeArgs{Key: "z", Start: "(2", Stop: "+inf", ByScore: true, Rev: false, Offset: 0, Count: 1}).Val(), []goredis.Z{{Score: 2.75, Member: "c"}})
		check(rdb.ZRangeArgs(ctx, goredis.ZRangeArgs{Key: "z", Start: "+inf", Stop: "-inf", ByScore: true, Rev: true}).Val(), []string{"b", "c", "a"})
		check(rdb.ZRangeByScoreWithScores(ctx, "z", &goredis.ZRangeBy{Min: "-inf", Max: "2.75"}).Val(), []goredis.Z{{Score: 2, Member: "a"}, {Score: 2.75, Member: "c"}})
		check(rdb.ZRank(ctx, "z", "b").Val(), 2)
		check(rdb.ZRevRank(ctx, "z", "b").Val(), 0)
		check(rdb.ZRank(ctx, "z", "nosuch").Err(), goredis.Nil)
		check(rdb.ZCount(ctx, "z", "(2", "4").Val(), 2)
		check(rdb.ZCard(ctx, "z").Val(), 3)
		check(rdb.ZRandMember(ctx, "z", 5).Val(), []string{"a", "c", "b"})
		check(len(rdb.ZRandMemberWithScores(ctx, "z", -5).Val()), 5)
		check(rdb.ZRandMemberWithScores(ctx, "z", 3).Val(), []goredis.Z{{Score: 2, Member: "a"}, {Score: 2.75, Member: "c"}, {Score: 4, Member: "b"}})
		keys, cur, err := rdb.ZScan(ctx, "z", 0, "*", 10).Result()
		check(fmt.Sprint(keys, cur, err), "[a 2 c 2.75 b 4] 0 <nil>")

		rdb.ZAdd(ctx, "y", goredis.Z{Score: 10, Member: "a"}, goredis.Z{Score: 20, Member: "d"})
		rdb.SAdd(ctx, "s", "a", "e")
		check(rdb.ZUnionWithScores(ctx, goredis.ZStore{Keys: []string{"z", "y", "s"}, Weights: []float64{1, 2, 3}}).Val(),
			[]goredis.Z{{Score: 2.75, Member: "c"}, {Score: 3, Member: "e"}, {Score: 4, Member: "b"}, {Score: 25, Member: "a"}, {Score: 40, Member: "d"}})
		check(rdb.ZUnion(ctx, goredis.ZStore{Keys: []string{"z", "y"}, Aggregate: "MAX"}).Val(), []string{"c", "b", "a", "d"})
		check(rdb.ZInterWithScores(ctx, &goredis.ZStore{Keys: []string{"z", "y"}, Aggregate: "MIN"}).Val(), []goredis.Z{{Score: 2, Member: "a"}})
		check(rdb.ZInterCard(ctx, 1, "z", "y", "s").Val(), 1)
		check(rdb.ZDiffWithScores(ctx, "z", "y").Val(), []goredis.Z{{Score: 2.75, Member: "c"}, {Score: 4, Member: "b"}})
		check(rdb.ZDiff(ctx, "s", "z").Val(), []string{"e"})
		check(rdb.ZUnionStore(ctx, "out", &goredis.ZStore{Keys: []string{"z", "y"}}).Val(), 4)
		check(rdb.ZInterStore(ctx, "out", &goredis.ZStore{Keys: []string{"z", "y"}, Weights: []float64{1, 0}}).Val(), 1)
		check(rdb.ZDiffStore(ctx, "out", "z", "y").Val(), 2)
		check(rdb.ZRangeStore(ctx, "out", goredis.ZRangeArgs{Key: "z", Start: 0, Stop: 1}).Val(), 2)
		check(rdb.ZRangeWithScores(ctx, "out", 0, -1).Val(), []goredis.Z{{Score: 2, Member: "a"}, {Score: 2.75, Member: "c"}})

		check(rdb.ZPopMin(ctx, "z").Val(), []goredis.Z{{Score: 2, Member: "a"}})
		check(rdb.ZPopMax(ctx, "z", 1).Val(), []goredis.Z{{Score: 4, Member: "b"}})
		key, zs, err := rdb.ZMPop(ctx, "min", 5, "nokey", "z").Result()
		check(fmt.Sprint(key, " ", zs, " ", err), "z [{2.75 c}] <nil>")
		check(rdb.Exists(ctx, "z").Val(), 0)
		check(rdb.ZMPop(ctx, "min", 1, "z").Err(), goredis.Nil)

		rdb.ZAdd(ctx, "lex", goredis.Z{Member: "a"}, goredis.Z{Member: "b"}, goredis.Z{Member: "c"})
		check(rdb.ZRangeByLex(ctx, "lex", &goredis.ZRangeBy{Min: "(a", Max: "+"}).Val(), []string{"b", "c"})
		check(rdb.ZRevRangeByLex(ctx, "lex", &goredis.ZRangeBy{Min: "-", Max: "[b"}).Val(), []string{"b", "a"})
		check(rdb.ZLexCount(ctx, "lex", "-", "+").Val(), 3)
		check(rdb.ZRemRangeByLex(ctx, "lex", "[b", "+").Val(), 2)
	})
}

// TestZSetKeys checks the key positions EXEC and COMMAND GETKEYS use for
// the commands whose keys move.
func TestZSetKeys(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	rdb := clientFor(t, ts, 2)
	for _, tc := range []struct {
		args []any
		want []string
	}{
		{[]any{"ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2"}, []string{"dst", "a", "b"}},
		{[]any{"ZDIFFSTORE", "dst", "1", "a"}, []string{"dst", "a"}},
		{[]any{"ZUNION", "2", "a", "b", "WITHSCORES"}, []string{"a", "b"}},
		{[]any{"ZINTERCARD", "1", "a", "LIMIT", "2"}, []string{"a"}},
		{[]any{"ZMPOP", "2", "a", "b", "MIN"}, []string{"a", "b"}},
		{[]any{"BZMPOP", "0", "1", "a", "MAX", "COUNT", "2"}, []string{"a"}},
		{[]any{"BZPOPMIN", "a", "b", "0"}, []string{"a", "b"}},
		{[]any{"ZRANGESTORE", "dst", "src", "0", "-1"}, []string{"dst", "src"}},
	} {
		got, err := rdb.CommandGetKeys(ctx, tc.args...).Result()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("COMMAND GETKEYS %v = %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
	// The same commands inside MULTI lock what they touch.
	cmds, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZAdd(ctx, "a", goredis.Z{Score: 1, Member: "x"})
		p.ZUnionStore(ctx, "dst", &goredis.ZStore{Keys: []string{"a", "b"}})
		p.ZMPop(ctx, "min", 1, "b", "dst")
		return nil
	})
	if err != nil || cmds[1].(*goredis.IntCmd).Val() != 1 {
		t.Fatalf("MULTI: %v %v", cmds, err)
	}
}

// TestZSetConcurrent runs writers, readers and blocking poppers together
// under the race detector: every member added is popped exactly once.
func TestZSetConcurrent(t *testing.T) {
	ts := startServer(t, Config{}, keyspace.Config{})
	ctx := context.Background()
	const writers, per = 4, 200
	var wg sync.WaitGroup
	popped := make(chan string, writers*per)
	for i := 0; i < writers; i++ {
		w := clientFor(t, ts, 2+i%2)
		p := clientFor(t, ts, 3-i%2)
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < per; j++ {
				w.ZAdd(ctx, fmt.Sprint("cz", j%3), goredis.Z{Score: float64(j), Member: fmt.Sprintf("%d-%d", i, j)})
				w.ZRangeWithScores(ctx, "cz0", 0, 10)
				w.ZUnionStore(ctx, "cu", &goredis.ZStore{Keys: []string{"cz0", "cz1"}})
			}
		}(i)
		go func() {
			defer wg.Done()
			for k := 0; k < per; k++ {
				v, err := p.BZPopMin(ctx, 5*time.Second, "cz0", "cz1", "cz2").Result()
				if err != nil {
					t.Errorf("BZPOPMIN: %v", err)
					return
				}
				popped <- v.Member.(string)
			}
		}()
	}
	wg.Wait()
	close(popped)
	seen := map[string]bool{}
	for m := range popped {
		if seen[m] {
			t.Fatalf("%s popped twice", m)
		}
		seen[m] = true
	}
	if len(seen) != writers*per {
		t.Fatalf("popped %d of %d", len(seen), writers*per)
	}
}

// TestZSetStrtod checks the float parsing the commands share with C's
// strtod, which Go's ParseFloat does not quite match.
func TestZSetStrtod(t *testing.T) {
	for _, tc := range []struct {
		in     string
		f      float64
		erange bool
		ok     bool
	}{
		{"1.5", 1.5, false, true},
		{"", 0, false, true},
		{"   ", 0, false, false},
		{" 3", 3, false, true},
		{"3 ", 0, false, false},
		{"0x10", 16, false, true},
		{"-0X1.8", -1.5, false, true},
		{"0x1p-2", 0.25, false, true},
		{"0x", 0, false, false},
		{"1_0", 0, false, false},
		{"inf", math.Inf(1), false, true},
		{"-Infinity", math.Inf(-1), false, true},
		{"1e400", math.Inf(1), true, true},
		{"-1e400", math.Inf(-1), true, true},
		{"1e-400", 0, true, true},
		{"0e-400", 0, false, true},
		{"4.9e-324", 5e-324, false, true},
		{"1e", 0, false, false},
		{".5", 0.5, false, true},
		{"5.", 5, false, true},
	} {
		f, erange, ok := strtod([]byte(tc.in))
		if ok != tc.ok || (ok && (f != tc.f || erange != tc.erange)) {
			t.Errorf("strtod(%q) = %v, %v, %v; want %v, %v, %v", tc.in, f, erange, ok, tc.f, tc.erange, tc.ok)
		}
	}
	for in, ok := range map[string]bool{"1": true, "": false, " 1": false, "1e400": false, "1e-400": false, "nan": false, "-inf": true, "0x10": true} {
		if _, got := parseDouble([]byte(in)); got != ok {
			t.Errorf("parseDouble(%q) ok = %v", in, got)
		}
	}
}
