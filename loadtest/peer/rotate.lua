-- wrk script: each request carries the next session cookie from a list, so
-- consecutive requests belong to different users (one cookie would measure a
-- cache, not the gateway).
-- Usage: wrk ... -s rotate.lua URL COOKIEFILE HOST COOKIENAME
local cookies, host, name, i = {}, nil, nil, 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
  host = args[2]
  name = args[3]
  i = math.random(#cookies)
end

function request()
  i = i % #cookies + 1
  return wrk.format(nil, nil, { ["Host"] = host, ["Cookie"] = name .. "=" .. cookies[i] })
end
