//! The test server as another project's tests use it: only `meeting_testgraph`'s
//! public API and a plain HTTP client.

use meeting_testgraph::{FaultPlan, FaultTrigger, TestGraph};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd0110000";
const USER: &str = "d4a060b5-a8fc-450c-837b-750b2c280000";
const OTHER_USER: &str = "0b9e2f6c-1111-4222-8333-944455556666";
const APP: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";

/// A response read whole.
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts Graph's error object with `status` and `code`; returns the message.
    #[track_caller]
    fn assert_graph_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let error = &self.body["error"];
        let members: Vec<&str> = error
            .as_object()
            .expect("an error object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members, ["code", "message", "innerError"], "{}", self.body);
        assert_eq!(error["code"], code, "{}", self.body);
        assert_eq!(
            self.header("request-id"),
            error["innerError"]["request-id"].as_str()
        );
        error["message"].as_str().unwrap().to_owned()
    }
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a whole body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON ({e}): {text}"))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// `POST /{version}/me/onlineMeetings/createOrGet` with `body`, as `token`.
async fn create_or_get(graph: &TestGraph, version: &str, token: &str, body: &Value) -> Reply {
    send(
        reqwest::Client::new()
            .post(graph.url(&format!("/{version}/me/onlineMeetings/createOrGet")))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// A request to the admin API at `path`, with `token` if any.
fn admin(
    graph: &TestGraph,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = reqwest::Client::new().request(method, graph.url(path));
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

fn operator(graph: &TestGraph) -> Option<&str> {
    Some(graph.admin_token().expect("the admin API is on"))
}

#[tokio::test]
async fn create_or_get_creates_once_and_then_returns_the_stored_meeting() {
    let graph = TestGraph::start().await;
    let token = graph.user_token(TENANT, USER);
    let body = json!({"externalId": "weekly-sync", "subject": "Weekly sync"});

    let created = create_or_get(&graph, "v1.0", &token, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let again = create_or_get(&graph, "v1.0", &token, &body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(created.body["id"], again.body["id"]);

    let stored = graph.meetings().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id.as_str(), created.body["id"].as_str().unwrap());
    assert_eq!(stored[0].subject.as_deref(), Some("Weekly sync"));
    let by_id = graph.meeting(stored[0].id.as_str()).await.unwrap();
    assert_eq!(by_id.external_id.as_str(), "weekly-sync");
}

#[tokio::test]
async fn a_retry_after_an_injected_503_after_commit_gets_the_same_meeting_and_one_is_stored() {
    let graph = TestGraph::start().await;
    graph
        .inject("route=createOrGet,status=503,when=after-commit,nth=1,retry-after=1")
        .unwrap();
    let token = graph.user_token(TENANT, USER);
    let body = json!({"externalId": "lost-answer"});

    let lost = create_or_get(&graph, "v1.0", &token, &body).await;
    lost.assert_graph_error(503, "ServiceUnavailable");
    assert_eq!(lost.header("retry-after"), Some("1"));
    let stored = graph.meetings().await;
    assert_eq!(stored.len(), 1, "committed although the client saw a 503");

    let retry = create_or_get(&graph, "v1.0", &token, &body).await;
    assert_eq!(
        retry.status, 200,
        "the retry finds it existing: {}",
        retry.body
    );
    assert_eq!(retry.body["id"], stored[0].id.as_str());
    assert_eq!(graph.meeting_count().await, 1);
    let stats = graph.faults().stats();
    assert_eq!((stats[0].matched, stats[0].injected), (2, 1));
}

#[tokio::test]
async fn an_after_commit_fault_counts_only_calls_that_succeeded() {
    let graph = TestGraph::start().await;
    graph
        .inject("route=createOrGet,status=503,when=after-commit,nth=1")
        .unwrap();
    let token = graph.user_token(TENANT, USER);
    // A call that fails by itself is neither counted nor answered by the fault.
    create_or_get(&graph, "v1.0", &token, &json!({"subject": "no key"}))
        .await
        .assert_graph_error(400, "BadRequest");
    assert_eq!(graph.faults().stats()[0].matched, 0);
    // The first call that succeeds is the one whose answer is lost.
    create_or_get(
        &graph,
        "v1.0",
        &token,
        &json!({"externalId": "first-success"}),
    )
    .await
    .assert_graph_error(503, "ServiceUnavailable");
    assert_eq!(graph.meeting_count().await, 1);
    let stats = graph.faults().stats();
    assert_eq!((stats[0].matched, stats[0].injected), (1, 1));
}

#[tokio::test]
async fn an_injected_429_is_graphs_throttling_with_retry_after_and_stores_nothing() {
    let graph = TestGraph::start().await;
    graph
        .inject("route=createOrGet,status=429,nth=1,retry-after=7")
        .unwrap();
    let token = graph.user_token(TENANT, USER);
    let body = json!({"externalId": "throttled"});

    let throttled = create_or_get(&graph, "beta", &token, &body).await;
    throttled.assert_graph_error(429, "TooManyRequests");
    assert_eq!(throttled.header("retry-after"), Some("7"));
    assert_eq!(graph.meeting_count().await, 0, "refused before the store");

    let retry = create_or_get(&graph, "beta", &token, &body).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(graph.meeting_count().await, 1);
}

#[tokio::test]
async fn an_injected_504_is_a_graph_gateway_timeout_and_other_routes_are_untouched() {
    let graph = TestGraph::start().await;
    graph.inject("route=get,status=504").unwrap();
    let token = graph.user_token(TENANT, USER);
    let created = create_or_get(&graph, "v1.0", &token, &json!({"externalId": "x"})).await;
    assert_eq!(created.status, 201, "createOrGet is not faulted");
    let id = created.body["id"].as_str().unwrap();
    let path = format!(
        "/v1.0/me/onlineMeetings/{}",
        meeting_tests::path_segment(id)
    );
    let get = send(
        reqwest::Client::new()
            .get(graph.url(&path))
            .bearer_auth(&token),
    )
    .await;
    get.assert_graph_error(504, "GatewayTimeout");
    assert_eq!(get.header("retry-after"), None);
}

#[tokio::test]
async fn an_injected_delay_holds_the_answer_back_and_then_answers() {
    let graph = TestGraph::start().await;
    graph.inject("route=createOrGet,delay=300ms").unwrap();
    let token = graph.user_token(TENANT, USER);
    let started = Instant::now();
    let reply = create_or_get(&graph, "v1.0", &token, &json!({"externalId": "slow"})).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn the_same_seed_fails_the_same_calls() {
    let statuses = |seed| async move {
        let graph = TestGraph::builder()
            .fault_seed(seed)
            .fault("route=createOrGet,status=429,rate=0.5".parse().unwrap())
            .start()
            .await;
        let token = graph.user_token(TENANT, USER);
        let mut statuses = Vec::new();
        for n in 0..24 {
            let body = json!({"externalId": format!("call-{n}")});
            statuses.push(create_or_get(&graph, "v1.0", &token, &body).await.status);
        }
        statuses
    };
    let first = statuses(11).await;
    assert_eq!(first, statuses(11).await);
    assert!(first.contains(&429) && first.contains(&201), "{first:?}");
    assert_ne!(first, statuses(12).await);
}

#[tokio::test]
async fn reset_between_two_scenarios_leaves_nothing_of_the_first() {
    let graph = TestGraph::start().await;
    let token = graph.user_token(TENANT, USER);
    let body = json!({"externalId": "shared-key", "subject": "first"});

    // Scenario one: a meeting, strict mode, a fault.
    assert_eq!(
        create_or_get(&graph, "v1.0", &token, &body).await.status,
        201
    );
    graph.update_settings(|settings| settings.strict = true);
    graph.inject("route=get,status=503").unwrap();
    graph.reset().await;

    // Scenario two starts clean: the key is free, strict mode off, no faults.
    assert_eq!(graph.meeting_count().await, 0);
    assert!(!graph.settings().strict);
    assert!(graph.faults().plan().rules.is_empty());
    let created = create_or_get(&graph, "v1.0", &token, &body).await;
    assert_eq!(created.status, 201, "created anew: {}", created.body);
    let other = json!({"externalId": "shared-key", "subject": "second"});
    assert_eq!(
        create_or_get(&graph, "v1.0", &token, &other).await.status,
        200,
        "not strict any more"
    );
    assert_eq!(graph.meeting_count().await, 1);
}

#[tokio::test]
async fn settings_changed_at_run_time_apply_to_the_next_call() {
    let graph = TestGraph::start().await;
    let token = graph.user_token(TENANT, USER);
    let body = json!({"externalId": "k", "subject": "one"});
    assert_eq!(
        create_or_get(&graph, "beta", &token, &body).await.status,
        200
    );
    graph.update_settings(|settings| settings.strict = true);
    let differing = json!({"externalId": "k", "subject": "two"});
    create_or_get(&graph, "beta", &token, &differing)
        .await
        .assert_graph_error(409, "ParameterMismatch");
}

#[tokio::test]
async fn an_app_token_creates_for_a_user_its_access_policy_grants() {
    let graph = TestGraph::start().await;
    let token = graph.app_token(TENANT, APP, ["OnlineMeetings.ReadWrite.All"]);
    let send_as_app = || async {
        send(
            reqwest::Client::new()
                .post(graph.url(&format!("/v1.0/users/{USER}/onlineMeetings/createOrGet")))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(json!({"externalId": "daemon"}).to_string()),
        )
        .await
    };
    send_as_app().await.assert_graph_error(403, "Forbidden");
    graph.update_settings(|settings| {
        settings
            .app_access
            .grant_spec(&format!("{APP}={USER}"))
            .unwrap()
    });
    let created = send_as_app().await;
    assert_eq!(created.status, 201, "{}", created.body);
    let stored = graph.meetings().await;
    let organizer = stored[0].organizer_identity().unwrap();
    assert_eq!(organizer.id.as_deref(), Some(USER));
}

#[tokio::test]
async fn stop_and_drop_close_the_server() {
    let graph = TestGraph::start().await;
    let token = graph.user_token(TENANT, USER);
    let address = graph.base_url().trim_start_matches("http://").to_owned();
    assert_eq!(
        create_or_get(&graph, "v1.0", &token, &json!({"externalId": "a"}))
            .await
            .status,
        201
    );
    graph.stop().await;
    assert!(
        tokio::net::TcpStream::connect(&address).await.is_err(),
        "stopped: the port is closed"
    );

    let graph = TestGraph::start().await;
    let address = graph.base_url().trim_start_matches("http://").to_owned();
    assert!(tokio::net::TcpStream::connect(&address).await.is_ok());
    drop(graph);
    // Dropping signals the server, which closes its port on its own task.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(&address).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still listening 10 s after the drop"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn fault_rules_are_validated() {
    let graph = TestGraph::start().await;
    for (rule, says) in [
        (
            "route=createOrGet,status=503,rate=1.5",
            "rate 1.5 is outside 0 to 1",
        ),
        ("route=createOrGet,status=503,rate=-1", "outside 0 to 1"),
        ("route=calendar,status=503", "unknown route `calendar`"),
        ("route=createOrGet,status=418", "unknown status `418`"),
    ] {
        let error = graph.inject(rule).unwrap_err().to_string();
        assert!(error.contains(says), "{rule}: {error}");
    }
    assert!(graph.faults().plan().rules.is_empty(), "nothing was added");

    let mut plan = FaultPlan::default();
    let mut rule: meeting_testgraph::FaultRule = "status=503".parse().unwrap();
    rule.trigger = FaultTrigger::Rate(2.0);
    plan.rules.push(rule);
    let error = TestGraph::builder()
        .faults(plan)
        .try_start()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("outside 0 to 1"), "{error}");
}

#[tokio::test]
async fn the_admin_api_is_off_unless_asked_for() {
    let graph = TestGraph::start().await;
    assert_eq!(graph.admin_token(), None);
    send(admin(
        &graph,
        reqwest::Method::GET,
        "/_meetingd/health",
        Some("any-token-at-all-here"),
    ))
    .await
    .assert_graph_error(404, "NotFound");
}

#[tokio::test]
async fn the_admin_api_refuses_requests_without_its_token() {
    let graph = TestGraph::builder().admin_api().start().await;
    for path in [
        "/_meetingd/health",
        "/_meetingd/meetings",
        "/_meetingd/settings",
    ] {
        let message = send(admin(&graph, reqwest::Method::GET, path, None))
            .await
            .assert_graph_error(401, "InvalidAuthenticationToken");
        assert!(message.contains("admin token"), "{message}");
    }
    send(admin(
        &graph,
        reqwest::Method::DELETE,
        "/_meetingd/meetings",
        Some("not-the-admin-token-but-long"),
    ))
    .await
    .assert_graph_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn the_admin_api_refuses_a_graph_token() {
    let graph = TestGraph::builder().admin_api().start().await;
    let token = graph.user_token(TENANT, USER);
    assert_eq!(
        create_or_get(&graph, "v1.0", &token, &json!({"externalId": "kept"}))
            .await
            .status,
        201
    );
    let message = send(admin(
        &graph,
        reqwest::Method::DELETE,
        "/_meetingd/meetings",
        Some(&token),
    ))
    .await
    .assert_graph_error(401, "InvalidAuthenticationToken");
    assert!(message.contains("Graph access token"), "{message}");
    assert_eq!(graph.meeting_count().await, 1, "nothing was deleted");

    // Nor does the admin token open the Graph routes.
    create_or_get(
        &graph,
        "v1.0",
        operator(&graph).unwrap(),
        &json!({"externalId": "x"}),
    )
    .await
    .assert_graph_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn the_admin_api_pages_through_every_meeting_in_id_order() {
    let graph = TestGraph::builder().admin_api().start().await;
    for (user, n) in [
        (USER, 0),
        (USER, 1),
        (USER, 2),
        (OTHER_USER, 3),
        (OTHER_USER, 4),
    ] {
        let token = graph.user_token(TENANT, user);
        let body = json!({"externalId": format!("meeting-{n}")});
        assert_eq!(
            create_or_get(&graph, "v1.0", &token, &body).await.status,
            201
        );
    }
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let mut next = Some(graph.url("/_meetingd/meetings?$top=2"));
    while let Some(url) = next.take() {
        let page = send(
            reqwest::Client::new()
                .get(&url)
                .bearer_auth(graph.admin_token().unwrap()),
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let value = page.body["value"].as_array().unwrap();
        pages.push(value.len());
        ids.extend(value.iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        next = page.body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, [2, 2, 1]);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "in id order, each once");
    let stored: Vec<String> = graph
        .meetings()
        .await
        .iter()
        .map(|m| m.id.as_str().to_owned())
        .collect();
    assert_eq!(ids, stored);

    let one = send(admin(
        &graph,
        reqwest::Method::GET,
        &format!(
            "/_meetingd/meetings/{}",
            meeting_tests::path_segment(&ids[3])
        ),
        operator(&graph),
    ))
    .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["id"], ids[3]);

    for bad in ["?$top=0", "?$top=5000", "?$filter=x"] {
        send(admin(
            &graph,
            reqwest::Method::GET,
            &format!("/_meetingd/meetings{bad}"),
            operator(&graph),
        ))
        .await
        .assert_graph_error(400, "BadRequest");
    }
}

#[tokio::test]
async fn an_admin_reset_leaves_the_store_empty_and_the_server_serving() {
    let graph = TestGraph::builder().admin_api().start().await;
    let token = graph.user_token(TENANT, USER);
    for n in 0..3 {
        let body = json!({"externalId": format!("m{n}")});
        assert_eq!(
            create_or_get(&graph, "v1.0", &token, &body).await.status,
            201
        );
    }
    let reset = send(admin(
        &graph,
        reqwest::Method::DELETE,
        "/_meetingd/meetings",
        operator(&graph),
    ))
    .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(reset.body, json!({"deleted": 3}));
    assert_eq!(graph.meeting_count().await, 0);

    let health = send(admin(
        &graph,
        reqwest::Method::GET,
        "/_meetingd/health",
        operator(&graph),
    ))
    .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "Healthy");
    assert_eq!(health.body["meetings"], 0);
    let list = send(admin(
        &graph,
        reqwest::Method::GET,
        "/_meetingd/meetings",
        operator(&graph),
    ))
    .await;
    assert_eq!(list.body, json!({"value": []}));

    let again = create_or_get(&graph, "v1.0", &token, &json!({"externalId": "m0"})).await;
    assert_eq!(again.status, 201, "the key is free and the server serves");
    let health = send(admin(
        &graph,
        reqwest::Method::GET,
        "/_meetingd/health",
        operator(&graph),
    ))
    .await;
    assert_eq!(health.body["meetings"], 1);
}

#[tokio::test]
async fn faults_are_read_changed_and_validated_through_the_admin_api() {
    let graph = TestGraph::builder().admin_api().start().await;
    let put = |body: Value| {
        send(
            admin(
                &graph,
                reqwest::Method::PUT,
                "/_meetingd/faults",
                operator(&graph),
            )
            .header("content-type", "application/json")
            .body(body.to_string()),
        )
    };
    for (rules, says) in [
        (
            json!(["route=createOrGet,status=429,rate=1.01"]),
            "outside 0 to 1",
        ),
        (json!(["route=nowhere,status=429"]), "unknown route"),
        (json!(["route=createOrGet,status=500"]), "unknown status"),
    ] {
        let message = put(json!({"rules": rules}))
            .await
            .assert_graph_error(400, "BadRequest");
        assert!(message.contains(says), "{message}");
    }
    put(json!({"rule": []}))
        .await
        .assert_graph_error(400, "BadRequest");

    let set =
        put(json!({"seed": 5, "rules": ["route=createOrGet,status=429,retry-after=3"]})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let token = graph.user_token(TENANT, USER);
    let throttled = create_or_get(&graph, "v1.0", &token, &json!({"externalId": "t"})).await;
    throttled.assert_graph_error(429, "TooManyRequests");
    assert_eq!(throttled.header("retry-after"), Some("3"));

    let read = send(admin(
        &graph,
        reqwest::Method::GET,
        "/_meetingd/faults",
        operator(&graph),
    ))
    .await;
    assert_eq!(
        read.body,
        json!({"seed": 5, "rules": [{"rule": "route=createOrGet,status=429,retry-after=3", "matched": 1, "injected": 1}]})
    );
    let cleared = send(admin(
        &graph,
        reqwest::Method::DELETE,
        "/_meetingd/faults",
        operator(&graph),
    ))
    .await;
    assert_eq!(cleared.body, json!({"seed": 5, "rules": []}));
    let served = create_or_get(&graph, "v1.0", &token, &json!({"externalId": "t"})).await;
    assert_eq!(served.status, 201);
}

#[tokio::test]
async fn settings_and_policies_are_read_and_patched_through_the_admin_api() {
    let graph = TestGraph::builder().admin_api().start().await;
    let patch = |body: Value| {
        send(
            admin(
                &graph,
                reqwest::Method::PATCH,
                "/_meetingd/settings",
                operator(&graph),
            )
            .header("content-type", "application/json")
            .body(body.to_string()),
        )
    };
    let read = send(admin(
        &graph,
        reqwest::Method::GET,
        "/_meetingd/settings",
        operator(&graph),
    ))
    .await;
    assert_eq!(read.body["strict"], false);

    let mut grant = serde_json::Map::new();
    grant.insert(APP.to_owned(), json!("global"));
    let patched = patch(json!({"strict": true, "appAccess": grant})).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["strict"], true);
    assert!(graph.settings().strict);
    assert!(graph
        .settings()
        .app_access
        .allows(APP, &USER.parse().unwrap()));

    for bad in [
        json!({"strictness": true}),
        json!({"strict": "yes"}),
        json!([1]),
    ] {
        patch(bad).await.assert_graph_error(400, "BadRequest");
    }
    assert!(graph.settings().strict, "a refused patch changes nothing");
}
