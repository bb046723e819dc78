/* C test program of the incwo C ABI: exercises include/incwo.h against the
 * static library. Run under valgrind by scripts/suites/php.sh.
 * SPDX-License-Identifier: MIT OR Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "incwo.h"

static int failures = 0;
static int passed = 0;

#define CHECK(cond, what)                                                   \
  do {                                                                      \
    if (cond) {                                                             \
      passed++;                                                             \
    } else {                                                                \
      failures++;                                                           \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what);        \
    }                                                                       \
  } while (0)

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); fclose(f); return NULL; }
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* Checks the status and that the output contains `needle`, then frees it. */
static void expect(enum IncwoStatus got, enum IncwoStatus want, char **outp, const char *needle, const char *what) {
  char *out = *outp; /* read after the call: arguments are evaluated first */
  char msg[256];
  snprintf(msg, sizeof msg, "%s: status %d (%s), want %d", what, (int)got, incwo_status_name(got), (int)want);
  CHECK(got == want, msg);
  CHECK(out != NULL, what);
  if (out && needle) {
    snprintf(msg, sizeof msg, "%s: output lacks %s", what, needle);
    CHECK(strstr(out, needle) != NULL, msg);
  }
  incwo_string_free(out);
  *outp = NULL;
}

/* Whether `len` bytes (not NUL-terminated) contain `needle`. */
static int bytes_contain(const uint8_t *bytes, size_t len, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; bytes && i + n <= len; i++)
    if (memcmp(bytes + i, needle, n) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  const char *root = argc > 1 ? argv[1] : ".";
  char path[4096];
  char *out = NULL;
  char *err = NULL;

  CHECK(strlen(incwo_version()) > 0, "version");
  CHECK(strcmp(incwo_status_name(INCWO_STATUS_OK), "ok") == 0, "status name ok");
  CHECK(strcmp(incwo_status_name(INCWO_STATUS_PANIC), "panic") == 0, "status name panic");
  CHECK(strcmp(incwo_status_name(12345), "unknown") == 0, "status name unknown");

  snprintf(path, sizeof path, "%s/examples/data/order.json", root);
  char *order = read_file(path);
  CHECK(order != NULL, "read examples/data/order.json");
  if (!order) return 1;

  out = NULL;
  expect(incwo_validate("order", order, NULL, &out), INCWO_STATUS_OK, &out, "\"valid\":true", "validate order");
  out = NULL;
  expect(incwo_map("order", order, NULL, &out), INCWO_STATUS_OK, &out, "proposal_sheet", "map order");
  out = NULL;
  expect(incwo_validate("orders", "{}", NULL, &out), INCWO_STATUS_USAGE, &out, "usage.unknown_kind", "unknown kind");
  out = NULL;
  expect(incwo_map("order", "{\"orderNumber\": 1}", NULL, &out), INCWO_STATUS_CONTRACT, &out, "contract", "invalid order");
  out = NULL;
  expect(incwo_schema("order", NULL, &out), INCWO_STATUS_OK, &out, "orderNumber", "schema");
  out = NULL;
  expect(incwo_call("telemetry.redact", "{\"text\": \"mail jean@example.fr\"}", &out), INCWO_STATUS_OK, &out, "text", "redact");
  out = NULL;
  expect(incwo_call("classify", "{", &out), INCWO_STATUS_USAGE, &out, "usage.malformed_json", "bad JSON");
  out = NULL;
  expect(incwo_call("nope", "{}", &out), INCWO_STATUS_USAGE, &out, "usage.unknown_call", "unknown call");
  out = NULL;
  expect(incwo_queue_name("{\"family\":\"order\",\"company\":\"ACME\",\"currency\":\"EUR\"}", &out), INCWO_STATUS_OK, &out,
         "erp.incwo.order.acme.eur", "queue name");
  out = NULL;
  expect(incwo_check_profile("{}", &out), INCWO_STATUS_USAGE, &out, "usage.invalid_profile", "bad profile");
  const char *xml = "<firm><id>100001</id><name>Atelier</name></firm>";
  out = NULL;
  enum IncwoStatus st = incwo_parse("firms", (const uint8_t *)xml, strlen(xml), &out);
  CHECK(out != NULL, "parse writes a document");
  CHECK(st == INCWO_STATUS_OK || st == INCWO_STATUS_USAGE, "parse status");
  incwo_string_free(out);

  /* Misuse: nothing written. */
  out = NULL;
  CHECK(incwo_validate(NULL, "{}", NULL, &out) == INCWO_STATUS_NULL_ARGUMENT && out == NULL, "null argument");
  CHECK(incwo_validate("order", "{}", NULL, NULL) == INCWO_STATUS_NULL_ARGUMENT, "null out");
  CHECK(incwo_call("\xff\xfe", "{}", &out) == INCWO_STATUS_INVALID_UTF8 && out == NULL, "invalid UTF-8");
  incwo_string_free(NULL);

  /* A configured core. */
  struct IncwoCore *core = NULL;
  CHECK(incwo_core_new("{", &core, &err) == INCWO_STATUS_USAGE && core == NULL && err != NULL, "core with a bad profile");
  incwo_string_free(err);
  err = NULL;
  CHECK(incwo_core_new(NULL, &core, &err) == INCWO_STATUS_OK && core != NULL && err == NULL, "core");
  out = NULL;
  expect(incwo_core_validate(core, "order", order, &out), INCWO_STATUS_OK, &out, "\"valid\":true", "core validate");
  out = NULL;
  expect(incwo_core_map(core, "order", order, &out), INCWO_STATUS_OK, &out, "xml", "core map");
  /* The XML alone, bytes in and out, one record then a batch of three. */
  {
    uint8_t *xml = NULL;
    size_t xml_len = 0;
    char *warnings = (char *)1;
    size_t order_len = strlen(order);
    CHECK(incwo_core_map_xml(core, "order", order, order_len, &xml, &xml_len, &warnings) == INCWO_STATUS_OK &&
              xml != NULL && warnings == NULL && xml_len > 0 && memcmp(xml, "<proposal_sheet>", 16) == 0 &&
              memchr(xml, 0, xml_len) == NULL,
          "core map_xml");
    incwo_bytes_free(xml, xml_len);
    xml = NULL;
    CHECK(incwo_core_map_xml(core, "order", "{", 1, &xml, &xml_len, NULL) == INCWO_STATUS_USAGE && xml != NULL &&
              xml_len > 0 && memcmp(xml, "{\"error\"", 8) == 0,
          "core map_xml malformed JSON");
    incwo_bytes_free(xml, xml_len);
    xml = NULL;
    char *batch = malloc(2 * order_len + 1);
    memcpy(batch, order, order_len);
    batch[order_len] = '{';
    memcpy(batch + order_len + 1, order, order_len);
    size_t lengths[3] = {order_len, 1, order_len};
    enum IncwoStatus statuses[3] = {INCWO_STATUS_PANIC, INCWO_STATUS_PANIC, INCWO_STATUS_PANIC};
    size_t failed = 99;
    warnings = (char *)1;
    CHECK(incwo_core_map_many(core, "order", batch, 2 * order_len + 1, lengths, 3, statuses, &xml, &xml_len, &failed,
                              &warnings) == INCWO_STATUS_OK &&
              failed == 1 && warnings == NULL && statuses[0] == INCWO_STATUS_OK &&
              statuses[1] == INCWO_STATUS_USAGE && statuses[2] == INCWO_STATUS_OK,
          "core map_many");
    size_t nuls = 0;
    for (size_t i = 0; xml && i < xml_len; i++) nuls += xml[i] == 0;
    CHECK(nuls == 3 && xml_len > 0 && xml[xml_len - 1] == 0, "core map_many: three items, each ended by NUL");
    incwo_bytes_free(xml, xml_len);
    xml = NULL;
    CHECK(incwo_core_map_many(core, "order", batch, 2 * order_len, lengths, 3, NULL, &xml, &xml_len, &failed, NULL) ==
                  INCWO_STATUS_USAGE &&
              xml != NULL && bytes_contain(xml, xml_len, "usage.bad_arguments"),
          "core map_many: lengths that do not add up");
    incwo_bytes_free(xml, xml_len);
    free(batch);
    incwo_bytes_free(NULL, 0);
  }
  out = NULL;
  expect(incwo_core_schema(core, "customer", &out), INCWO_STATUS_OK, &out, "externalId", "core schema");
  /* A panic inside the core (the debug.panic self-test) is a status and a
   * typed error document, twice in a row; the core handle keeps working. */
  for (int i = 0; i < 2; i++) {
    out = NULL;
    expect(incwo_call("debug.panic", "{\"message\": \"self-test\"}", &out), INCWO_STATUS_PANIC, &out,
           "\"code\":\"usage.internal_panic\"", "debug.panic code");
    out = NULL;
    expect(incwo_call("debug.panic", "{\"message\": \"self-test\"}", &out), INCWO_STATUS_PANIC, &out,
           "the connector core panicked: self-test", "debug.panic message");
    out = NULL;
    expect(incwo_core_validate(core, "order", order, &out), INCWO_STATUS_OK, &out, "\"valid\":true", "core validate after a panic");
  }
  CHECK(incwo_core_free(core) == INCWO_STATUS_OK, "core free");
  CHECK(incwo_core_free(core) == INCWO_STATUS_INVALID_HANDLE, "core double free");
  out = NULL;
  CHECK(incwo_core_map(core, "order", order, &out) == INCWO_STATUS_INVALID_HANDLE && out == NULL, "core used after free");

  /* A flow. */
  struct IncwoFlow *flow = NULL;
  err = NULL;
  CHECK(incwo_flow_start("{\"now\": 1}", &flow, &err) == INCWO_STATUS_USAGE && flow == NULL && err != NULL,
        "flow without config");
  incwo_string_free(err);
  err = NULL;
  CHECK(incwo_flow_start("[", &flow, &err) == INCWO_STATUS_USAGE && flow == NULL && err != NULL, "flow bad JSON");
  incwo_string_free(err);
  const char *prefix =
      "{\"config\": {\"server\": \"http://127.0.0.1:9\", \"businessFileId\": \"123456\","
      " \"auth\": {\"type\": \"basic\", \"login\": \"api@example.fr\", \"password\": \"secret\"}},"
      " \"now\": 1700000000000, \"seed\": 7, \"records\": [{\"kind\": \"order\", \"record\": ";
  size_t n = strlen(prefix) + strlen(order) + 8;
  char *args = malloc(n);
  snprintf(args, n, "%s%s}]}", prefix, order);
  err = NULL;
  CHECK(incwo_flow_start(args, &flow, &err) == INCWO_STATUS_OK && flow != NULL && err == NULL, "flow start");
  out = NULL;
  st = incwo_flow_poll(flow, 1700000000000ULL, &out);
  CHECK(st == INCWO_STATUS_OK, "poll");
  CHECK(out && strstr(out, "\"action\":\"send\""), "poll gives a send");
  incwo_string_free(out);
  out = NULL;
  expect(incwo_flow_on_transport_error(flow, 1, "{\"kind\": \"connect_refused\", \"phase\": \"connect\"}", 1700000000001ULL, &out),
         INCWO_STATUS_OK, &out, "ok", "transport error");
  out = NULL;
  expect(incwo_flow_on_response(flow, 999, "{\"status\": 200}", 1700000000001ULL, &out), INCWO_STATUS_USAGE, &out, "usage",
         "unknown request id");
  out = NULL;
  expect(incwo_flow_checkpoint(flow, &out), INCWO_STATUS_OK, &out, "checkpointVersion", "checkpoint");
  out = NULL;
  CHECK(incwo_flow_checkpoint(flow, &out) == INCWO_STATUS_OK, "checkpoint again");
  struct IncwoFlow *resumed = NULL;
  err = NULL;
  CHECK(incwo_flow_resume(args, out, &resumed, &err) == INCWO_STATUS_OK && resumed != NULL, "resume");
  incwo_string_free(out);
  CHECK(incwo_flow_free(resumed) == INCWO_STATUS_OK, "free resumed");
  out = NULL;
  expect(incwo_flow_metrics(flow, &out), INCWO_STATUS_OK, &out, NULL, "metrics");
  out = NULL;
  expect(incwo_flow_summary(flow, &out), INCWO_STATUS_OK, &out, "summary", "summary");
  CHECK(incwo_flow_free(flow) == INCWO_STATUS_OK, "flow free");
  CHECK(incwo_flow_free(flow) == INCWO_STATUS_INVALID_HANDLE, "flow double free");
  out = NULL;
  CHECK(incwo_flow_poll(flow, 1, &out) == INCWO_STATUS_INVALID_HANDLE && out == NULL, "flow used after free");
  free(args);
  free(order);

  printf("%d passed, %d failed\n", passed, failures);
  return failures == 0 ? 0 : 1;
}
