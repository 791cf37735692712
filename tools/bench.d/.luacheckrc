-- luacheck settings for tools/bench's wrk scripts: lint them from this
-- directory (cd tools/bench.d && luacheck .), since the repository's
-- .luacheckrc describes Redis' sandbox, not wrk's LuaJIT.
--
-- wrk runs the scripts in LuaJIT with the standard libraries; it provides
-- the table wrk and calls the global functions setup, init, request,
-- response and done. Each script names the globals it defines itself.
std = 'luajit'
max_line_length = 100
read_globals = {'wrk'}
