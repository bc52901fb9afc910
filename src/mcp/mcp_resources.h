#pragma once

// The MCP resources: the collections templates://, requests://, machines:// and
// providers://, and one item per template, request, machine and provider instance
// (templates://{template_id}, requests://{request_id}, machines://{machine_id},
// providers://{name}), read from the broker as JSON.

#include <string>

#include "mcp/mcp_context.h"
#include "mcp/mcp_jsonrpc.h"

namespace orb::mcp {

// At most this many templates and open requests are listed as items by resources/list.
inline constexpr int kMaxListedItems = 100;

// The result of resources/list: the four collections, then one entry per template and
// per open request (at most kMaxListedItems of each). A templates file that cannot be
// read only leaves its items out.
json ListResources(McpContext& ctx);

// The result of resources/templates/list: the four URI templates.
json ListResourceTemplates();

// The result of resources/read for `uri`: {"contents": [{uri, mimeType:
// "application/json", text}]}. A collection is its list ({"templates": [...]}, the
// newest 100 requests, the active machines (at most 1000), the providers); an item its
// record. Throws RpcError(kResourceNotFound, "resource not found: URI") for an unknown
// item, RpcError(kInvalidParams) for a URI of another scheme, RpcError(kInternalError)
// for another failure (e.g. no templates file).
json ReadResource(McpContext& ctx, const std::string& uri);

// Throws RpcError(kInvalidParams) unless `uri` is of one of orb's schemes.
void CheckResourceUri(const std::string& uri);

// The collection URI `uri` belongs to ("requests://" for "requests://req-1"), or ""
// for a URI of no known scheme.
std::string CollectionOf(const std::string& uri);

}  // namespace orb::mcp
