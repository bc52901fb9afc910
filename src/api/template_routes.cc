// /api/v1/templates: list, show, create, update, delete, validate, refresh.

#include "api/server_state.h"
#include "broker/broker_records.h"
#include "config/template_loader.h"

namespace orb::api {

namespace {

// ?validate_only=true&force=true of the editing routes.
TemplateChangeOptions ChangeOptions(const httplib::Request& req) {
  TemplateChangeOptions o;
  o.validate_only = BoolParam(req, "validate_only");
  o.force = BoolParam(req, "force");
  return o;
}

// The template object the body holds (the object, or {"templates": [one]}).
json TemplateBody(const httplib::Request& req) {
  json body = BodyJson(req);
  if (body.is_null()) throw Error(ErrorCode::kInvalidInput, "the request body is missing: a template object is expected");
  return OneTemplateOf(std::move(body), "the request body");
}

}  // namespace

void AddTemplateRoutes(ServerState& state) {
  state.Add("GET", "/api/v1/templates", Role::kViewer,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                json list = json::array();
                for (const Template& t : state.ThreadBroker().ListTemplates()) {
                  list.push_back(TemplateRecord(t));
                }
                Reply(res, 200, json{{"templates", list}});
              });
            });
  // Before /api/v1/templates/{template_id}, which would take "validate" as an id.
  state.Add("POST", "/api/v1/templates/validate", Role::kViewer,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                json body = BodyJson(req);
                if (body.is_null()) {
                  // The templates file in use, optionally against the cloud.
                  const TemplateCheck check =
                      state.ThreadBroker().ValidateTemplates("", BoolParam(req, "in_cloud"));
                  Reply(res, 200, TemplateCheckRecord(check));
                  return;
                }
                TemplateChangeOptions o;
                o.validate_only = true;
                o.force = true;
                const TemplateChange ch = state.ThreadBroker().CreateTemplate(
                    OneTemplateOf(std::move(body), "the request body"), o);
                json r = TemplateChangeRecord(ch);
                r["valid"] = true;
                Reply(res, 200, r);
              });
            });
  state.Add("POST", "/api/v1/templates/refresh", Role::kAdmin,
            [&state](const httplib::Request&, httplib::Response& res) {
              state.Guard(res, [&] {
                const TemplateCheck check = state.ThreadBroker().RefreshTemplates();
                json r = TemplateCheckRecord(check);
                json list = json::array();
                for (const Template& t : check.templates) list.push_back(TemplateRecord(t));
                r["templates"] = list;
                Reply(res, 200, r);
              });
            });
  state.Add("POST", "/api/v1/templates", Role::kAdmin,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                const TemplateChangeOptions o = ChangeOptions(req);
                const TemplateChange ch = state.ThreadBroker().CreateTemplate(TemplateBody(req), o);
                Reply(res, ch.written ? 201 : 200, TemplateChangeRecord(ch));
              });
            });
  state.Add("GET", "/api/v1/templates/{template_id}", Role::kViewer,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                Reply(res, 200,
                      TemplateRecord(state.ThreadBroker().GetTemplate(req.matches[1].str())));
              });
            });
  state.Add("PUT", "/api/v1/templates/{template_id}", Role::kAdmin,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                const TemplateChange ch = state.ThreadBroker().UpdateTemplate(
                    req.matches[1].str(), TemplateBody(req), ChangeOptions(req));
                Reply(res, 200, TemplateChangeRecord(ch));
              });
            });
  state.Add("DELETE", "/api/v1/templates/{template_id}", Role::kAdmin,
            [&state](const httplib::Request& req, httplib::Response& res) {
              state.Guard(res, [&] {
                const TemplateChange ch = state.ThreadBroker().DeleteTemplate(
                    req.matches[1].str(), ChangeOptions(req));
                Reply(res, 200, TemplateChangeRecord(ch));
              });
            });
}

}  // namespace orb::api
