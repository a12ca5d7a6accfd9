package redis

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ferry/internal/keyspace"
)

// Scripting compared with redis-server 7.0.15 byte for byte: each case runs
// on a clean server (FLUSHALL, SCRIPT FLUSH, FUNCTION FLUSH) through a RESP2
// and a RESP3 connection. The replies redis-server gave are recorded in
// testdata/scripting_ref.txt, so the test needs no redis-server to check
// Ferry; where redis-server is installed the recording is checked against
// it too (go test -run TestScriptingReference -update-scripting rewrites it).
//
// The cases cover the Lua <-> RESP conversions, the redis.* API and its
// errors, the sandbox, Lua 5.1 semantics Redis scripts meet (tostring,
// tonumber, string.format, pcall and error), the cjson, cmsgpack, struct
// and bit libraries, and FUNCTION/FCALL. Left out are the known
// deviations listed in docs/dev/redis.md (Lua 5.1 names the variable in
// runtime errors, the parser's messages, number-to-string coercion in
// "..", the order of multi-key maps, the random generator's position).

var updateScripting = flag.Bool("update-scripting", false, "rewrite testdata/scripting_ref.txt from redis-server")

type scriptRefCase struct {
	name string
	cmds [][]string
}

var scriptRefCases = []scriptRefCase{
	{"basics", [][]string{
		{"EVAL", "return x", "0"},
		{"EVAL", "return redis.call('nosuch')", "0"},
		{"EVAL", "return redis.call('incr','k','x')", "1", "k"},
		{"SET", "s", "abc"},
		{"EVAL", "return redis.call('incr','s')", "1", "s"},
		{"EVAL", "return redis.pcall('incr','s')", "1", "s"},
		{"EVAL", "return {1,2,3,'ciao',{1,2}}", "0"},
		{"EVAL", "return {1,2,nil,4}", "0"},
		{"EVAL", "return 3.99", "0"},
		{"EVAL", "return -3.99", "0"},
		{"EVAL", "return true", "0"},
		{"EVAL", "return false", "0"},
		{"EVAL", "return nil", "0"},
		{"EVAL", "return {ok='fine'}", "0"},
		{"EVAL", "return {err='bad thing'}", "0"},
		{"EVAL", "return {err='MYERR bad thing'}", "0"},
		{"EVAL", "return redis.error_reply('x y')", "0"},
		{"EVAL", "return redis.error_reply('-x y')", "0"},
		{"EVAL", "return redis.status_reply('x y')", "0"},
		{"EVAL", "error('boom')", "0"},
		{"EVAL", "error({err='boom'})", "0"},
		{"EVAL", "error('boom', 0)", "0"},
		{"EVAL", "a = 5", "0"},
		{"EVAL", "return redis.sha1hex('')", "0"},
		{"EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"},
		{"EVALSHA", "fff", "0"},
		{"EVAL", "return 1", "-1"},
		{"EVAL", "return 1", "2", "a"},
		{"EVAL", "return 1", "x"},
		{"SCRIPT", "LOAD", "return 1"},
		{"SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "ffff"},
		{"SCRIPT", "KILL"},
		{"FUNCTION", "KILL"},
		{"SCRIPT", "FLUSH", "x"},
		{"SCRIPT", "FLUSH", "ASYNC"},
		{"SCRIPT", "HELP"},
		{"FUNCTION", "HELP"},
		{"EVAL", "return redis.call('eval','return 1','0')", "0"},
		{"EVAL_RO", "return redis.call('set','a','b')", "0"},
		{"EVAL", "return {1, 'x', {ok='y'}, {err='z'}}", "0"},
		{"EVAL", "return {double=3.5}", "0"},
		{"EVAL", "return {big_number='123'}", "0"},
		{"EVAL", "return {map={a=1}}", "0"},
		{"EVAL", "return {set={a=true}}", "0"},
		{"EVAL", "return {verbatim_string={format='txt',string='hi'}}", "0"},
		{"EVAL", "return 1e300", "0"},
		{"EVAL", "return 0/0", "0"},
		{"EVAL", "return 1/0", "0"},
		{"EVAL", "return -1/0", "0"},
	}},
	{"environment", [][]string{
		{"EVAL", "return {type(os), type(loadstring), type(debug), type(print), type(getfenv), type(setfenv), type(coroutine), type(require), type(module), type(collectgarbage), type(newproxy), type(unpack), type(gcinfo), type(load), type(dofile), type(loadfile), type(io), type(package), type(select), type(rawset), type(xpcall), type(_G), type(bit), type(struct), type(cjson), type(cmsgpack)}", "0"},
		{"EVAL", "math.randomseed(7); return {math.random(1000000), math.random(1000000)}", "0"},
		{"EVAL", "return {tonumber('010'), tonumber('0x10'), tonumber(' 10 '), tonumber('1e2'), tonumber('inf'), tonumber('nan'), tonumber('10', 16), tonumber('zz', 36), tonumber(''), tonumber('1e'), tonumber('0x')}", "0"},
		{"EVAL", "return string.format('%d %5.2f %s %q %x %g %c %e', 42, 3.14159, 'hi', 'a\"b\\n', 255, 1e20, 65, 12345.678)", "0"},
		{"EVAL", "return string.format('%s %s', 1/3, 1e15)", "0"},
		{"EVAL", "return string.format('%5s|%-5s|%.2s', 'ab', 'ab', 'abc')", "0"},
		{"EVAL", "return string.format('%d', 3.7)", "0"},
		{"EVAL", "return string.format('%i', -3.7)", "0"},
		{"EVAL", "return string.format('%100d', 1)", "0"},
		{"EVAL", "return string.format('%z', 1)", "0"},
		{"EVAL", "return string.format('%d', 'x')", "0"},
		{"EVAL", "return string.format('%d')", "0"},
		{"EVAL", "return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM", "0"},
		{"EVAL", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING, redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", "0"},
		{"EVAL", "local t = {} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(string) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(math) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(table) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(os) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(debug) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(cjson) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(bit) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(coroutine) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "return _VERSION", "0"},
	}},
	{"redis-api", [][]string{
		{"SET", "k", "v"},
		{"EVAL", "getmetatable('').__index = {}", "0"},
		{"EVAL", "local m = getmetatable(''); return type(m)", "0"},
		{"EVAL", "setmetatable(_G, {})", "0"},
		{"EVAL", "rawset(_G, 'x', 1)", "0"},
		{"EVAL", "redis.call = 1", "0"},
		{"EVAL", "string.x = 1", "0"},
		{"EVAL", "local t = setmetatable({}, {}) t.x = 1 return t.x", "0"},
		{"EVAL", "return getmetatable(_G) == nil", "0"},
		{"EVAL", "return rawget(_G, 'redis') ~= nil", "0"},
		{"EVAL", "return loadstring('return 1')()", "0"},
		{"EVAL", "return load('return 2')()", "0"},
		{"EVAL", "local f = loadstring('x = 1'); f()", "0"},
		{"EVAL", "return #KEYS .. ' ' .. #ARGV", "2", "a", "b", "c"},
		{"EVAL", "KEYS[1] = 'z'; return KEYS[1]", "1", "a"},
		{"EVAL", "return collectgarbage('count') > 0", "0"},
		{"EVAL", "return gcinfo() > 0", "0"},
		{"EVAL", "local co = coroutine.create(function() coroutine.yield(1) end); return {coroutine.resume(co)}", "0"},
		{"EVAL", "return redis.setresp(3)", "0"},
		{"EVAL", "return redis.setresp(4)", "0"},
		{"EVAL", "return redis.setresp()", "0"},
		{"EVAL", "return redis.call()", "0"},
		{"EVAL", "return redis.call({})", "0"},
		{"EVAL", "return redis.call('get', {})", "0"},
		{"EVAL", "return redis.call('set', 'n', 3.5)", "0"},
		{"GET", "n"},
		{"EVAL", "return redis.call('set', 'n', 0.1)", "0"},
		{"GET", "n"},
		{"EVAL", "return redis.call('set', 'n', 1e20)", "0"},
		{"GET", "n"},
		{"EVAL", "return redis.call('set', 'n', true)", "0"},
		{"EVAL", "return redis.call('set', 'n', nil)", "0"},
		{"EVAL", "return redis.call('ping')", "0"},
		{"EVAL", "return redis.call('get','nokey')", "0"},
		{"EVAL", "return {redis.call('get','nokey')}", "0"},
		{"EVAL", "return type(redis.call('get','nokey'))", "0"},
		{"EVAL", "return redis.call('lrange','nolist',0,-1)", "0"},
		{"EVAL", "redis.setresp(3); return redis.call('hgetall','nohash')", "0"},
		{"HSET", "h", "f", "v", "g", "w"},
		{"EVAL", "redis.setresp(3); local r = redis.call('hgetall','h'); return {type(r), type(r.map), r.map.f}", "0"},
		{"EVAL", "redis.setresp(3); local r = redis.call('get','nokey'); return type(r)", "0"},
		{"EVAL", "redis.setresp(3); return {type(redis.call('get','nokey')) }", "0"},
		{"SADD", "st", "a"},
		{"EVAL", "redis.setresp(3); local r = redis.call('smembers','st'); return {type(r.set), r.set.a}", "0"},
		{"ZADD", "z", "1.5", "m"},
		{"EVAL", "redis.setresp(3); local r = redis.call('zscore','z','m'); return {type(r), type(r.double), tostring(r.double)}", "0"},
		{"EVAL", "redis.setresp(3); return redis.call('zscore','z','m')", "0"},
		{"EVAL", "return {double=3.5}", "0"},
		{"EVAL", "redis.setresp(3); return redis.call('exists','h')", "0"},
		{"EVAL", "return {1,2,{3,nil,5}}", "0"},
		{"EVAL", "return {a=1,b=2}", "0"},
		{"EVAL", "return {1, 'a', b=2}", "0"},
		{"EVAL", "return {err=1}", "0"},
		{"EVAL", "return {ok=1}", "0"},
		{"EVAL", "return {err='a', ok='b'}", "0"},
		{"EVAL", "return {ok='b', err='a'}", "0"},
		{"EVAL", "return {ok='a\\r\\nb'}", "0"},
		{"EVAL", "return {err='a\\r\\nb'}", "0"},
		{"EVAL", "return {err=''}", "0"},
		{"EVAL", "return {ok=''}", "0"},
		{"EVAL", "return redis.error_reply('')", "0"},
		{"EVAL", "return redis.error_reply()", "0"},
		{"EVAL", "return redis.error_reply(1)", "0"},
		{"EVAL", "return redis.status_reply()", "0"},
		{"EVAL", "return redis.sha1hex()", "0"},
		{"EVAL", "return redis.sha1hex(123)", "0"},
		{"EVAL", "return redis.log(redis.LOG_WARNING, 'hello', 'x')", "0"},
		{"EVAL", "return redis.log(99, 'hello')", "0"},
		{"EVAL", "return redis.log()", "0"},
		{"EVAL", "return redis.set_repl(redis.REPL_ALL)", "0"},
		{"EVAL", "return redis.set_repl(99)", "0"},
		{"EVAL", "return redis.replicate_commands()", "0"},
		{"EVAL", "return redis.breakpoint()", "0"},
		{"EVAL", "return redis.debug('x')", "0"},
		{"EVAL", "return redis.acl_check_cmd('get','x')", "0"},
		{"EVAL", "return redis.acl_check_cmd('nosuch')", "0"},
	}},
	{"errors", [][]string{
		{"SET", "s", "abc"},
		{"EVAL", "error('a\\nb')", "0"},
		{"PING"},
		{"EVAL", "error({err='x\\r\\ny'})", "0"},
		{"PING"},
		{"EVAL", "return redis.call('set','k','v','bad')", "0"},
		{"EVAL", "return redis.pcall('set','k','v','bad')", "0"},
		{"EVAL", "return redis.pcall('nosuch')", "0"},
		{"EVAL", "local r = redis.pcall('nosuch'); return {type(r), r.err, tostring(r.ignore_err_stats_update)}", "0"},
		{"EVAL", "local ok, e = pcall(redis.call, 'nosuch'); return {tostring(ok), type(e), e.err}", "0"},
		{"EVAL", "local ok, e = pcall(error, 'x'); return {tostring(ok), e}", "0"},
		{"EVAL", "return 1 + nil", "0"},
		{"EVAL", "local t = {} return t < 1", "0"},
		{"EVAL", "return #nil", "0"},
		{"EVAL", "return undefinedfn()", "0"},
		{"EVAL", "local function f() return f() + 1 end return f()", "0"},
		{"EVAL", "local s = string.rep('x', 10) return s", "0"},
		{"EVAL", "return string.rep('x', -1)", "0"},
		{"EVAL", "return tostring(nil) .. tostring(true)", "0"},
		{"EVAL", "error()", "0"},
		{"EVAL", "error(nil)", "0"},
		{"EVAL", "error(5)", "0"},
		{"EVAL", "error(true)", "0"},
		{"EVAL", "error('x', 2)", "0"},
		{"EVAL", "local function f() error('deep') end\nf()", "0"},
		{"EVAL", "local function f() error('deep', 2) end\n\nf()", "0"},
		{"EVAL", "\n\nreturn redis.call('incr','s')", "0"},
		{"EVAL", "return {1,2,3}", "0"},
		{"EVAL", "return redis.call('select', 1)", "0"},
		{"EVAL", "redis.call('select', 1); return redis.call('set','indb1','x')", "0"},
		{"GET", "indb1"},
		{"EVAL", "return redis.call('multi')", "0"},
		{"EVAL", "return redis.call('blpop','x', 0)", "0"},
		{"EVAL", "return redis.call('blmpop', 0, 1, 'x', 'left')", "0"},
		{"EVAL", "return redis.call('client','id')", "0"},
		{"EVAL", "return redis.call('client','nosuch')", "0"},
		{"EVAL", "return redis.call('client')", "0"},
		{"EVAL", "return redis.call('config','get','maxmemory')", "0"},
		{"EVAL", "return redis.call('subscribe','x')", "0"},
		{"EVAL", "return redis.call('publish','x', 'y')", "0"},
		{"EVAL_RO", "return redis.call('publish','x', 'y')", "0"},
		{"EVAL", "return redis.call('GeT','k')", "0"},
		{"EVAL", "return redis.call('object','encoding','k')", "0"},
	}},
	{"lua51", [][]string{
		{"SET", "s", "abc"},
		{"EVAL", "local ok, e = pcall(redis.call, 'nosuch'); return {tostring(ok), e}", "0"},
		{"EVAL", "local ok, e = pcall(error, {err='X y', z=1}); return {tostring(ok), e}", "0"},
		{"EVAL", "local ok, e = pcall(error, {zz='X y'}); return {tostring(ok), type(e), e.zz}", "0"},
		{"EVAL", "local ok, e = pcall(function() redis.call('incr','s') end); return {tostring(ok), e}", "0"},
		{"EVAL", "local ok, e = xpcall(function() redis.call('incr','s') end, function(e) return e end); return {tostring(ok), type(e), e.err}", "0"},
		{"EVAL", "local ok, a, b = pcall(function() return 1, 2 end); return {tostring(ok), a, b}", "0"},
		{"EVAL", "return {pcall()}", "0"},
		{"EVAL", "return {select('#', pcall(error))}", "0"},
		{"EVAL", "local ok, e = pcall(error); return {tostring(ok), tostring(e)}", "0"},
		{"EVAL", "return tostring(pcall) == tostring(pcall)", "0"},
		{"EVAL", "return string.format('%q', 'a\\0b\\rc')", "0"},
		{"EVAL", "return string.format('%5.1s|', 'abc')", "0"},
		{"EVAL", "return string.format('%-+8.3f|% d|%05d|%#x|%#o|%o|%X|%E|%G|%g', 3.14159, 5, 42, 255, 8, 8, 255, 1.5, 1e-10, 0.0001)", "0"},
		{"EVAL", "return string.format('%c%c%c', 76, 117, 97)", "0"},
		{"EVAL", "return string.format('%%')", "0"},
		{"EVAL", "return string.format('%d', 2^53)", "0"},
		{"EVAL", "return string.format('%d', 2^63)", "0"},
		{"EVAL", "return string.format('%d', -2^63)", "0"},
		{"EVAL", "return string.format('%x', -1)", "0"},
		{"EVAL", "return string.format('%u', -1)", "0"},
		{"EVAL", "return string.format('%s', {}) ~= nil", "0"},
		{"EVAL", "return string.format('%s %s %s', nil, true, 12)", "0"},
		{"EVAL", "return string.format('%10.4f', 1/3)", "0"},
		{"EVAL", "return string.format('%.20f', 0.1)", "0"},
		{"EVAL", "return string.format('%.99f', 0.1)", "0"},
		{"EVAL", "return string.format('%099d', 1)", "0"},
		{"EVAL", "return string.format('%g %g %g %g', 1e15, 1e16, 123456789, 0.1)", "0"},
		{"EVAL", "return string.format('%q', 1)", "0"},
		{"EVAL", "return string.format('%s', 1e100)", "0"},
		{"EVAL", "return tostring(-1e100)", "0"},
		{"EVAL", "return tostring(12345678901234567890)", "0"},
		{"EVAL", "return tostring(-123.456)", "0"},
		{"EVAL", "return tostring(1e-5)", "0"},
		{"EVAL", "return tostring(5e-324)", "0"},
		{"EVAL", "return tostring(0.1 + 0.2)", "0"},
		{"EVAL", "return {tonumber('1e1'), tonumber('  0x1F  '), tonumber('1.5e+2'), tonumber('.5') * 10, tonumber('5.') , tonumber('0x1p4'), tonumber('1 2'), tonumber('- 1'), tonumber('-0x10'), tonumber('+5')}", "0"},
		{"EVAL", "return {tonumber('10', 2), tonumber('ff', 16), tonumber('FF', 16), tonumber('8', 8), tonumber('z', 36), tonumber(' 11 ', 2), tonumber('', 10), tonumber('1.5', 10)}", "0"},
		{"EVAL", "return tonumber('10', 1)", "0"},
		{"EVAL", "return tonumber('10', 37)", "0"},
		{"EVAL", "return tonumber()", "0"},
		{"EVAL", "return tonumber(nil)", "0"},
		{"EVAL", "return tonumber({})", "0"},
		{"EVAL", "return tonumber(15, 16)", "0"},
		{"EVAL", "return '0x10' + 0", "0"},
		{"EVAL", "return '1e2' * 1", "0"},
		{"EVAL", "return ' 5 ' + 0", "0"},
		{"EVAL", "return 'abc' + 0", "0"},
		{"EVAL", "return 10 .. 20", "0"},
		{"EVAL", "return 7 % -3", "0"},
		{"EVAL", "return -7 % 3", "0"},
		{"EVAL", "return 2^0.5 * 1000", "0"},
		{"EVAL", "return math.fmod(-7, 3)", "0"},
		{"EVAL", "return math.floor(-3.5)", "0"},
		{"EVAL", "return {math.max(1, 5, 3), math.min(4, 2), math.huge > 0, math.pi * 1e6, math.abs(-3), math.ceil(3.2), math.sqrt(16), math.pow(2, 10), math.log(100) * 1e6, math.log10(1000), math.exp(1)*1e6}", "0"},
		{"EVAL", "return {math.frexp(8)}", "0"},
		{"EVAL", "return {math.modf(3.7)}", "0"},
		{"EVAL", "return math.ldexp(1, 10)", "0"},
	}},
	{"conversions", [][]string{
		{"SET", "s", "abc"},
		{"SET", "s", "abc"},
		{"EVAL", "local r = redis.pcall('incr','s'); return {tostring(r.ignore_err_stats_update), r.err}", "0"},
		{"EVAL", "local r = redis.pcall('get'); return {tostring(r.ignore_err_stats_update), r.err}", "0"},
		{"EVAL", "error({err=5})", "0"},
		{"EVAL", "error({err=''})", "0"},
		{"EVAL", "return {err=5}", "0"},
		{"EVAL", "return tostring(1/0)", "0"},
		{"EVAL", "local x = 0; return tostring(1/x) .. ' ' .. tostring(-1/x) .. ' ' .. tostring(x/x)", "0"},
		{"EVAL", "return redis.sha1hex(nil)", "0"},
		{"EVAL", "return redis.sha1hex({})", "0"},
		{"EVAL", "return redis.log(1)", "0"},
		{"EVAL", "return redis.log('x', 'y')", "0"},
		{"EVAL", "return redis.log('1', 'y')", "0"},
		{"EVAL", "return redis.setresp('3')", "0"},
		{"EVAL", "return redis.setresp(2.9)", "0"},
		{"EVAL", "return redis.set_repl('1')", "0"},
		{"EVAL", "return redis.set_repl(1, 2)", "0"},
		{"EVAL", "return redis.error_reply('-')", "0"},
		{"EVAL", "return redis.error_reply('x')", "0"},
		{"EVAL", "return redis.error_reply('-x')", "0"},
		{"EVAL", "return redis.error_reply('-MY error\\r\\n')", "0"},
		{"EVAL", "return redis.status_reply('-x')", "0"},
		{"EVAL", "local t = redis.error_reply('x y'); return {t.err, tostring(t.ignore_err_stats_update)}", "0"},
		{"EVAL", "return {big_number='1\\r\\n2'}", "0"},
		{"EVAL", "return {map={}, err='x'}", "0"},
		{"EVAL", "return {double='x'}", "0"},
		{"EVAL", "return {double=0/0}", "0"},
		{"EVAL", "return {double=1/0}", "0"},
		{"EVAL", "return {double=-1/0}", "0"},
		{"EVAL", "return {double=1e300}", "0"},
		{"EVAL", "return {double=-0.0}", "0"},
		{"EVAL", "return {double=1e16}", "0"},
		{"EVAL", "return {double=0.1}", "0"},
		{"EVAL", "return {verbatim_string={format='md',string='x'}}", "0"},
		{"EVAL", "return {verbatim_string={format='mdxyz',string='x'}}", "0"},
		{"EVAL", "return {verbatim_string={string='x'}}", "0"},
		{"EVAL", "local t = {} t[1] = t return t", "0"},
	}},
	{"random", [][]string{
		{"EVAL", "math.randomseed(7); return {math.random(1000000), math.random(1000000)}", "0"},
		{"EVAL", "return math.random(0)", "0"},
		{"EVAL", "return math.random(3,1)", "0"},
		{"EVAL", "return math.random(1,2,3)", "0"},
		{"EVAL", "return math.random(2^40)", "0"},
	}},
	{"functions", [][]string{
		{"FUNCTION", "FLUSH"},
		{"FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('F1', function(keys, args) return redis.call('ping') end)"},
		{"FCALL", "f1", "0"},
		{"FCALL", "F1", "0"},
		{"FUNCTION", "LOAD", "#!lua name=LIB1\nredis.register_function('g1', function(keys, args) return 1 end)"},
		{"FUNCTION", "LOAD", "#!lua name=lib2\nredis.call('ping')"},
		{"FUNCTION", "LOAD", "#!lua name=lib2\nlocal x = string.len('a')"},
		{"FUNCTION", "LOAD", "#!lua name=lib2\nreturn 1"},
		{"FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('x-y', function() end)"},
		{"FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='z', callback=function() return 1 end, flags={'no-writes', 'bad'}}"},
		{"FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='z', callback=function() return 1 end, flags={'no-writes', 'allow-oom'}, description='d'}\nredis.register_function('z2', function(k, a) return {k[1], a[1], redis.setresp, type(redis.call), x} end)"},
		{"FCALL", "z2", "1", "k", "a"},
		{"FCALL", "z", "0"},
		{"FCALL_RO", "z2", "0"},
		{"FCALL", "nosuch", "0"},
		{"FCALL", "z", "x"},
		{"FCALL", "z", "-1"},
		{"FCALL", "z", "5"},
		{"FUNCTION", "LOAD", "#!lua name=lib3\nredis.register_function('e1', function(k, a) error('boom') end)\nredis.register_function('e2', function(k, a) return redis.call('incr', 'fs') end)"},
		{"SET", "fs", "x"},
		{"FCALL", "e1", "0"},
		{"FCALL", "e2", "0"},
		{"FUNCTION", "STATS"},
		{"FUNCTION", "DELETE", "nosuch"},
		{"FUNCTION", "DELETE", "lib3"},
		{"FUNCTION", "LOAD", "lua name=x\n"},
		{"FUNCTION", "LOAD", "#!lua\n"},
		{"FUNCTION", "LOAD", "#!lua name=x foo=bar\n"},
		{"FUNCTION", "LOAD", "#!python name=x\n"},
		{"FUNCTION", "LOAD", "#!LUA name=x\nredis.register_function('xx', function() return 1 end)"},
		{"FUNCTION", "LOAD", "#!lua name=a-b\n"},
		{"FUNCTION", "LOAD", "#!lua name=x"},
		{"FUNCTION", "LOAD", "#!lua name=y\n"},
		{"FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('xx', function() return 1 end)"},
		{"FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('yy', function() return 1 end)\nredis.register_function('yy', function() return 1 end)"},
		{"FUNCTION", "LOAD", "FOO", "#!lua name=y\n"},
		{"FUNCTION", "LOAD", "REPLACE"},
		{"FUNCTION", "LOAD"},
		{"FUNCTION", "FLUSH", "BAD"},
		{"FUNCTION", "LIST", "BAD"},
		{"FUNCTION", "LIST", "LIBRARYNAME"},
		{"FUNCTION", "RESTORE", "bad"},
		{"FUNCTION", "RESTORE", "bad", "BAD"},
		{"EVAL", "return redis.register_function", "0"},
		{"FUNCTION", "LOAD", "#!lua name=z\nlocal function f() return 1 end\nredis.register_function('f', f)\nredis.log(redis.LOG_WARNING, 'hi')\nreturn redis.REDIS_VERSION"},
		{"FUNCTION", "LOAD", "#!lua name=w\nredis.register_function('w', function() return redis.register_function end)"},
		{"FCALL", "w", "0"},
		{"FUNCTION", "LOAD", "#!lua name=w2\nredis.register_function('w2', function() return _G.x end)"},
		{"FCALL", "w2", "0"},
		{"FUNCTION", "LOAD", "#!lua name=w3\nredis.register_function('w3', function() return KEYS end)"},
		{"FCALL", "w3", "0"},
	}},
	{"libraries", [][]string{
		{"EVAL", "return cjson.encode({1,2,3})", "0"},
		{"EVAL", "return cjson.encode({a=1})", "0"},
		{"EVAL", "return cjson.encode({})", "0"},
		{"EVAL", "return cjson.encode('a\"b\\\\c/d\\n\\t\\r\\b\\f\\001\\127\u00e9')", "0"},
		{"EVAL", "return cjson.encode(1/3)", "0"},
		{"EVAL", "return cjson.encode(1e15)", "0"},
		{"EVAL", "return cjson.encode(123456789012)", "0"},
		{"EVAL", "return cjson.encode(-0.0)", "0"},
		{"EVAL", "return cjson.encode(1/0)", "0"},
		{"EVAL", "local x = 0 return cjson.encode(x/x)", "0"},
		{"EVAL", "return cjson.encode(nil)", "0"},
		{"EVAL", "return cjson.encode(true)", "0"},
		{"EVAL", "return cjson.encode(cjson.null)", "0"},
		{"EVAL", "return cjson.encode({1, nil, 3})", "0"},
		{"EVAL", "return cjson.encode({[1]=1, [20]=2})", "0"},
		{"EVAL", "return cjson.encode({[1]=1, [3]=2})", "0"},
		{"EVAL", "return cjson.encode({[1.5]=1})", "0"},
		{"EVAL", "return cjson.encode({[true]=1})", "0"},
		{"EVAL", "return cjson.encode(function() end)", "0"},
		{"EVAL", "return cjson.encode({a={b={c={}}}})", "0"},
		{"EVAL", "return cjson.encode()", "0"},
		{"EVAL", "return cjson.encode(1, 2)", "0"},
		{"EVAL", "local t = {} t[1] = t return cjson.encode(t)", "0"},
		{"EVAL", "return cjson.encode({[-1]=5})", "0"},
		{"EVAL", "return cjson.encode({[0]=5})", "0"},
		{"EVAL", "return cjson.encode({['1']=5})", "0"},
		{"EVAL", "return cjson.encode({1, 2, x=3})", "0"},
		{"EVAL", "local t = cjson.decode('[1,2,3]') return t", "0"},
		{"EVAL", "local t = cjson.decode('{\"a\":1,\"b\":[true,false,null]}') return {t.a, type(t.b[3]), tostring(t.b[1]), #t.b}", "0"},
		{"EVAL", "return cjson.decode('\"a\\\\u00e9\\\\ud83d\\\\ude00b\"')", "0"},
		{"EVAL", "return cjson.decode('1e2')", "0"},
		{"EVAL", "return tostring(cjson.decode('0.1'))", "0"},
		{"EVAL", "return cjson.decode('-0')", "0"},
		{"EVAL", "return cjson.decode('0x10')", "0"},
		{"EVAL", "return tostring(cjson.decode('inf'))", "0"},
		{"EVAL", "return tostring(cjson.decode('nan'))", "0"},
		{"EVAL", "return cjson.decode('+1')", "0"},
		{"EVAL", "return cjson.decode('01')", "0"},
		{"EVAL", "return cjson.decode('')", "0"},
		{"EVAL", "return cjson.decode('[1,2')", "0"},
		{"EVAL", "return cjson.decode('[1,2,]')", "0"},
		{"EVAL", "return cjson.decode('{\"a\" 1}')", "0"},
		{"EVAL", "return cjson.decode('{1:2}')", "0"},
		{"EVAL", "return cjson.decode('[1] x')", "0"},
		{"EVAL", "return cjson.decode('\"abc')", "0"},
		{"EVAL", "return cjson.decode('\"a\\\\qb\"')", "0"},
		{"EVAL", "return cjson.decode('\"a\\\\u12\"')", "0"},
		{"EVAL", "return cjson.decode('\"\\\\ud800\"')", "0"},
		{"EVAL", "return cjson.decode('tru')", "0"},
		{"EVAL", "return cjson.decode('@')", "0"},
		{"EVAL", "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))", "0"},
		{"EVAL", "return #cjson.decode(string.rep('[', 999) .. string.rep(']', 999))", "0"},
		{"EVAL", "return cjson.decode()", "0"},
		{"EVAL", "return cjson.decode(1)", "0"},
		{"EVAL", "return cjson.decode('  [ 1 , 2 ]  ')", "0"},
		{"EVAL", "return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), tostring(cjson.encode_keep_buffer()), tostring(cjson.encode_invalid_numbers()), tostring(cjson.decode_invalid_numbers())}", "0"},
		{"EVAL", "return {cjson.encode_sparse_array()}", "0"},
		{"EVAL", "return cjson.encode_number_precision(15)", "0"},
		{"EVAL", "return {cjson._NAME, cjson._VERSION, type(cjson.null), tostring(cjson.null == cjson.null)}", "0"},
		{"EVAL", "return cjson.encode({cjson.decode('null')})", "0"},
		{"EVAL", "return cjson.encode(cjson.decode('{\"x\":[1,{\"y\":\"z\"}]}'))", "0"},
		{"EVAL", "return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649)", "0"},
		{"EVAL", "return cmsgpack.pack('a', string.rep('x', 31), string.rep('y', 32), string.rep('z', 256))", "0"},
		{"EVAL", "return cmsgpack.pack({}, {1,2,3}, {a=1}, true, false, nil)", "0"},
		{"EVAL", "return cmsgpack.pack({1, nil, 3})", "0"},
		{"EVAL", "return cmsgpack.pack({[1]=1,[2]=2,[4]=4})", "0"},
		{"EVAL", "local t = {} t[1] = t return cmsgpack.pack(t)", "0"},
		{"EVAL", "return cmsgpack.pack()", "0"},
		{"EVAL", "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, true))}", "0"},
		{"EVAL", "return cmsgpack.unpack(cmsgpack.pack({x=1}))['x']", "0"},
		{"EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}", "0"},
		{"EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}", "0"},
		{"EVAL", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}", "0"},
		{"EVAL", "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", "0"},
		{"EVAL", "return {cmsgpack.unpack_one('', 0)}", "0"},
		{"EVAL", "return {cmsgpack.unpack('')}", "0"},
		{"EVAL", "return cmsgpack.unpack('\\205')", "0"},
		{"EVAL", "return cmsgpack.unpack('\\193')", "0"},
		{"EVAL", "return cmsgpack.unpack('\\196\\001a')", "0"},
		{"EVAL", "return cmsgpack.unpack_one('abc', 5)", "0"},
		{"EVAL", "return cmsgpack.unpack_one('abc', -1)", "0"},
		{"EVAL", "return {cmsgpack._NAME, cmsgpack._VERSION}", "0"},
		{"EVAL", "local t = {} for k,v in pairs(cmsgpack) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "local t = {} for k,v in pairs(struct) do t[#t+1]=k end table.sort(t) return t", "0"},
		{"EVAL", "return struct.pack('>I2i4bBhHlLTfd', 1, -2, -3, 250, -4, 65000, -5, 6, 7, 1.5, 2.25)", "0"},
		{"EVAL", "return struct.pack('<I2i4', 1, -2)", "0"},
		{"EVAL", "return struct.pack('c3s', 'abcdef', 'xy')", "0"},
		{"EVAL", "return struct.pack('c0', 'abcdef')", "0"},
		{"EVAL", "return struct.pack('!4 b i', 1, 2)", "0"},
		{"EVAL", "return struct.pack('x b x', 1)", "0"},
		{"EVAL", "return {struct.unpack('>I2i4', struct.pack('>I2i4', 513, -2))}", "0"},
		{"EVAL", "return {struct.unpack('b c0', struct.pack('b c0', 3, 'abc'))}", "0"},
		{"EVAL", "return {struct.unpack('s s', 'ab\\0cd\\0')}", "0"},
		{"EVAL", "return {struct.unpack('i', 'ab')}", "0"},
		{"EVAL", "return {struct.unpack('i', 'abcd', 0)}", "0"},
		{"EVAL", "return {struct.unpack('b', 'abcd', 3)}", "0"},
		{"EVAL", "return {struct.unpack('s', 'abcd')}", "0"},
		{"EVAL", "return struct.size('i4 d b')", "0"},
		{"EVAL", "return struct.size('!8 b d')", "0"},
		{"EVAL", "return struct.size('s')", "0"},
		{"EVAL", "return struct.pack('z', 1)", "0"},
		{"EVAL", "return struct.pack('i33', 1)", "0"},
		{"EVAL", "return struct.pack('!3', 1)", "0"},
		{"EVAL", "return struct.pack('i', 'x')", "0"},
		{"EVAL", "return struct.pack('c5', 'ab')", "0"},
		{"EVAL", "return {struct.unpack('>f', struct.pack('>f', 0.1))}", "0"},
		{"EVAL", "return {struct.unpack('<i8', struct.pack('<i8', -1))}", "0"},
		{"EVAL", "return {struct.unpack('I16', struct.pack('I16', 5))}", "0"},
		{"EVAL", "return {bit.tobit(1), bit.tobit(2^32 + 5), bit.tobit(-1), bit.tobit(2^31), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5)}", "0"},
		{"EVAL", "return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x80000001, 1), bit.ror(1, 1), bit.bswap(0x01020304)}", "0"},
		{"EVAL", "return {bit.tohex(255), bit.tohex(255, 2), bit.tohex(255, -4), bit.tohex(-1), bit.tohex(0x12345678, 10)}", "0"},
		{"EVAL", "return bit.tobit('x')", "0"},
		{"EVAL", "return bit.tobit()", "0"},
		{"EVAL", "return bit.tobit('12')", "0"},
		{"EVAL", "return bit.lshift(1, 33)", "0"},
	}},
}

const scriptRefFile = "testdata/scripting_ref.txt"

// runScriptCase runs one case on a fresh connection and returns the
// replies' exact bytes.
func runScriptCase(t *testing.T, addr string, proto int, cmds [][]string) []string {
	t.Helper()
	c := refDial(t, addr)
	if proto == 3 {
		c.do("HELLO", "3")
	}
	c.do("FLUSHALL")
	c.do("SCRIPT", "FLUSH")
	c.do("FUNCTION", "FLUSH")
	out := make([]string, len(cmds))
	for i, cmd := range cmds {
		out[i] = c.do(cmd...)
	}
	return out
}

// refKey names one recorded reply: case, protocol, index.
func refKey(name string, proto, i int) string { return fmt.Sprintf("%s %d %d", name, proto, i) }

func loadScriptRef(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(scriptRefFile)
	if err != nil {
		t.Fatalf("%v (regenerate with -update-scripting)", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 4)
		if len(f) != 4 {
			t.Fatalf("bad line in %s: %q", scriptRefFile, line)
		}
		v, err := strconv.Unquote(f[3])
		if err != nil {
			t.Fatalf("bad reply in %s: %q: %v", scriptRefFile, line, err)
		}
		m[f[0]+" "+f[1]+" "+f[2]] = v
	}
	return m
}

func TestScriptingReference(t *testing.T) {
	if *updateScripting {
		addr := refRedis(t)
		var b strings.Builder
		b.WriteString("# Replies of redis-server 7.0.15 to scriptRefCases (scripting_ref_test.go): case protocol index reply.\n")
		for _, tc := range scriptRefCases {
			for _, proto := range []int{2, 3} {
				for i, r := range runScriptCase(t, addr, proto, tc.cmds) {
					fmt.Fprintf(&b, "%s %s\n", refKey(tc.name, proto, i), strconv.Quote(r))
				}
			}
		}
		if err := os.MkdirAll(filepath.Dir(scriptRefFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(scriptRefFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := loadScriptRef(t)
	ts := startServer(t, Config{}, keyspace.Config{})
	check := func(t *testing.T, who, addr string, tc scriptRefCase, proto int) {
		got := runScriptCase(t, addr, proto, tc.cmds)
		for i, cmd := range tc.cmds {
			w, ok := want[refKey(tc.name, proto, i)]
			if !ok {
				t.Fatalf("no recorded reply for %s %q (regenerate with -update-scripting)", refKey(tc.name, proto, i), cmd)
			}
			if got[i] != w {
				t.Errorf("%s RESP%d %q\n got: %q\nwant: %q", who, proto, cmd, got[i], w)
			}
		}
	}
	for _, tc := range scriptRefCases {
		for _, proto := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/RESP%d", tc.name, proto), func(t *testing.T) {
				check(t, "ferry", ts.addr, tc, proto)
			})
		}
	}
	if _, err := os.Stat(refRedisBin); err == nil && !*updateScripting {
		addr := refRedis(t)
		for _, tc := range scriptRefCases {
			for _, proto := range []int{2, 3} {
				t.Run(fmt.Sprintf("redis-server/%s/RESP%d", tc.name, proto), func(t *testing.T) {
					check(t, "redis-server", addr, tc, proto)
				})
			}
		}
	}
}
