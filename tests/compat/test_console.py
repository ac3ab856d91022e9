"""The web console at / in a real browser (Debian's chromium, headless,
driven by Selenium), and its API's guards over plain HTTP. The overview
lists a created topic and a group; the topic page shows the records just
produced (as text, JSON and hex, hostile bytes shown as text); the group
page shows the lag; creating and deleting a topic and resetting a group's
offsets through the page change the broker; no page logs an error. The
guards: actions need the console's header and its own origin, a
DNS-rebinding Host is refused, read-only mode refuses actions, and with
the authorizer on the console neither acts nor shows records."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from http_broker import call, get, http_broker

RECORDS = 12
COMMITTED = 5
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
ACTION = {"X-Strom-Console": "1"}


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    broker, http_port = http_broker(tmp_path_factory.mktemp("console"))
    broker.start()
    try:
        yield broker, f"http://127.0.0.1:{http_port}"
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "the console tests need Debian's chromium and chromium-driver (scripts/setup)"
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, timeout: float = 20):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def no_page_errors(driver) -> None:
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def find(driver, css: str):
    """The element, once the page has drawn it."""
    return wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, css))


def shown(driver, css: str):
    """The element, once the page shows it and it can be used (action
    buttons appear once the page knows the console may act)."""

    def usable(d):
        element = d.find_element(By.CSS_SELECTOR, css)
        return element if element.is_displayed() and element.is_enabled() else None

    return wait_for(driver, usable)


def produce_and_commit(bootstrap: str, topic: str, group: str) -> None:
    """RECORDS records on partition 0 (keys, JSON values, one hostile
    value and a header), and COMMITTED of them committed by `group`."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(RECORDS - 1):
        producer.produce(topic, key=f"key-{i}", value=json.dumps({"n": i, "kind": "order"}), partition=0)
    producer.produce(topic, key="hostile", value=HOSTILE, partition=0, headers=[("trace-id", b"t-42")])
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(topic, 0, COMMITTED)], asynchronous=False)
    consumer.close()


@pytest.fixture(scope="module")
def traffic(console):
    broker, _ = console
    topic, group = f"orders-{uuid.uuid4().hex[:6]}", f"billing-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(10)
    produce_and_commit(broker.bootstrap, topic, group)
    return topic, group


def test_overview_lists_the_topic_and_the_group(console, browser, traffic):
    _, base = console
    topic, group = traffic
    browser.get(f"{base}/")
    row = find(browser, f'#topics tr[data-topic="{topic}"]')
    wait_for(browser, lambda _: str(RECORDS) in row.text)
    find(browser, f'#groups tr[data-group="{group}"]')
    no_page_errors(browser)


def test_topic_page_shows_the_records_just_produced(console, browser, traffic):
    _, base = console
    topic, _ = traffic
    browser.get(f"{base}/#/topics/{topic}")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#messages tr[data-offset]")) == RECORDS)
    newest = browser.find_element(By.CSS_SELECTOR, '#messages tr[data-offset="11"]')
    # Hostile bytes are shown as text, never run.
    assert newest.find_element(By.CSS_SELECTOR, ".key").text == "hostile"
    assert newest.find_element(By.CSS_SELECTOR, ".value").text == HOSTILE
    assert "trace-id" in newest.find_element(By.CSS_SELECTOR, ".headers").text
    assert browser.title != "pwned"
    first = browser.find_element(By.CSS_SELECTOR, '#messages tr[data-offset="0"]')
    assert first.find_element(By.CSS_SELECTOR, ".key").text == "key-0"

    Select(browser.find_element(By.ID, "value-format")).select_by_value("json")
    wait_for(browser, lambda d: '"kind": "order"' in value_text(d, 0))
    Select(browser.find_element(By.ID, "value-format")).select_by_value("hex")
    # {"n": 0 ... starts 7b 22 6e 22.
    wait_for(browser, lambda d: "7b 22 6e 22" in value_text(d, 0))

    partition = find(browser, '#partitions tr[data-partition="0"]')
    assert str(RECORDS) in partition.text
    find(browser, "#throughput-chart")
    find(browser, "#configs")
    no_page_errors(browser)


def value_text(driver, offset: int) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'#messages tr[data-offset="{offset}"] .value').text


def test_group_page_shows_the_lag(console, browser, traffic):
    _, base = console
    topic, group = traffic
    browser.get(f"{base}/#/groups/{group}")
    wait_for(browser, lambda d: d.find_element(By.ID, "total-lag").text == str(RECORDS - COMMITTED))
    row = find(browser, f'#lag tr[data-partition="{topic}:0"]')
    assert row.find_element(By.CSS_SELECTOR, ".lag").text == str(RECORDS - COMMITTED)
    find(browser, "#lag-chart")
    no_page_errors(browser)


def test_creating_and_deleting_a_topic_through_the_page(console, browser):
    broker, base = console
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = f"made-in-console-{uuid.uuid4().hex[:6]}"
    browser.get(f"{base}/")
    shown(browser, "#create-topic").click()
    shown(browser, "#new-topic-name").send_keys(topic)
    partitions = browser.find_element(By.ID, "new-topic-partitions")
    partitions.clear()
    partitions.send_keys("3")
    browser.find_element(By.ID, "create-topic-confirm").click()
    find(browser, f'#topics tr[data-topic="{topic}"]')
    described = admin.list_topics(topic, timeout=10).topics[topic]
    assert described.error is None and len(described.partitions) == 3

    browser.get(f"{base}/#/topics/{topic}")
    shown(browser, "#delete-topic").click()
    confirm = wait_for(browser, lambda d: d.find_element(By.ID, "delete-topic-confirm"))
    wait_for(browser, lambda _: confirm.is_displayed())
    assert not confirm.is_enabled()  # until the name is typed
    browser.find_element(By.ID, "confirm-name").send_keys(topic)
    wait_for(browser, lambda _: confirm.is_enabled())
    confirm.click()
    wait_for(browser, lambda d: d.current_url.endswith("#/"))
    wait_for(browser, lambda _: topic not in admin.list_topics(timeout=10).topics)
    no_page_errors(browser)


def test_resetting_offsets_through_the_page(console, browser, traffic):
    broker, base = console
    topic, _ = traffic
    group = f"resettable-{uuid.uuid4().hex[:6]}"
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(topic, 0, RECORDS)], asynchronous=False)
    consumer.close()
    browser.get(f"{base}/#/groups/{group}")
    wait_for(browser, lambda d: d.find_element(By.ID, "total-lag").text == "0")
    shown(browser, "#reset-offsets").click()
    Select(shown(browser, "#reset-topic")).select_by_value(topic)
    Select(browser.find_element(By.ID, "reset-to")).select_by_value("earliest")
    browser.find_element(By.ID, "reset-confirm").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "total-lag").text == str(RECORDS))
    checker = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    committed = checker.committed([TopicPartition(topic, 0)], timeout=10)
    checker.close()
    assert committed[0].offset == 0
    no_page_errors(browser)


def test_a_group_with_members_keeps_its_offsets(console, traffic):
    broker, base = console
    topic, _ = traffic
    group = f"busy-{uuid.uuid4().hex[:6]}"
    member = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    member.subscribe([topic])
    try:
        for _ in range(100):
            if member.poll(0.2) is not None:
                break
        status, _, body = call("POST", f"{base}/v1/groups/{group}/reset-offsets",
                               {"topic": topic, "to": "earliest"}, ACTION)  # fmt: skip
        assert status == 409 and "active members" in json.loads(body)["error"]
    finally:
        member.close()


def test_actions_need_the_console_header_and_its_own_origin(console):
    _, base = console
    body = {"name": f"refused-{uuid.uuid4().hex[:6]}"}
    status, _, answer = call("POST", f"{base}/v1/topics", body)
    assert status == 403 and "X-Strom-Console" in json.loads(answer)["error"]
    status, _, _ = call("POST", f"{base}/v1/topics", body, {**ACTION, "Origin": "http://evil.example"})
    assert status == 403
    # A page that rebinds its own name to 127.0.0.1 still sends its name.
    status, _, _ = get(f"{base}/v1/topics", {"Host": "evil.example"})
    assert status == 403
    status, _, _ = call("POST", f"{base}/v1/topics", {"name": "x", "unknown": 1}, ACTION)
    assert status == 422
    assert body["name"] not in get(f"{base}/v1/topics")[2]
    page = get(f"{base}/")
    assert page[0] == 200 and page[1].startswith("text/html")


def test_read_only_mode_refuses_actions(tmp_path, browser):
    broker, http_port = http_broker(tmp_path, "strom.http.read.only=true")
    broker.start()
    try:
        base = f"http://127.0.0.1:{http_port}"
        status, _, answer = call("POST", f"{base}/v1/topics", {"name": "nope"}, ACTION)
        assert status == 403 and "read-only" in json.loads(answer)["error"]
        assert json.loads(get(f"{base}/v1/cluster")[2])["console"]["read_only"] is True
        browser.get(f"{base}/")
        # The page knows it is read-only once it has read /v1/cluster.
        wait_for(browser, lambda d: d.find_element(By.ID, "read-only-badge").is_displayed())
        assert not any(button.is_displayed() for button in browser.find_elements(By.ID, "create-topic"))
        no_page_errors(browser)
    finally:
        broker.stop()


def test_with_the_authorizer_the_console_shows_no_records_and_takes_no_actions(tmp_path):
    broker, http_port = http_broker(tmp_path, "authorizer.class.name=strom", "super.users=User:ANONYMOUS")
    broker.start()
    try:
        base = f"http://127.0.0.1:{http_port}"
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("secret", 1, 1)])["secret"].result(10)
        status, _, _ = get(f"{base}/v1/topics/secret/records")
        assert status == 403
        status, _, _ = call("DELETE", f"{base}/v1/topics/secret", headers=ACTION)
        assert status == 403
        assert "secret" in admin.list_topics(timeout=10).topics
    finally:
        broker.stop()
