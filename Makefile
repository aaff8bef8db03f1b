# Two commands set everything up on a fresh machine with Python 3.11 and node: `make run`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CITY ?= jiangmen
HOST ?= 127.0.0.1
PORT ?= 8000
AWS_PORT ?= 5100
ROLE ?= applicant

.PHONY: run test bench synth token walkthrough demo lint clean

$(STAMP): requirements.txt requirements-dev.txt infra/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -r infra/requirements.txt
	touch $(STAMP)

run: $(STAMP) ## local stack: moto on loopback + the API on http://$(HOST):$(PORT), demo city seeded
	$(PY) -m devstack --host $(HOST) --port $(PORT) --aws-port $(AWS_PORT)

test: $(STAMP) ## every test (checkov's own virtual environment, .venv-checkov/, is made on first use)
	$(PY) -c "from infra.compliance import ensure_checkov; ensure_checkov()"
	$(PY) -m pytest -n 2 --dist loadfile

bench: $(STAMP) ## performance measurements -> bench/results.json
	$(PY) -m bench

synth: $(STAMP) ## CloudFormation for one city: make synth CITY=jiangmen
	$(PY) -m infra.synth $(CITY)

token: $(STAMP) ## a demo user's ID token from the running local stack: make token ROLE=staff
	$(PY) -m devstack.token $(ROLE) --aws-port $(AWS_PORT)

walkthrough: $(STAMP) ## the applying journey (issue 3) step by step against the running `make run`
	$(PY) -m devstack.walkthrough

demo: $(STAMP) ## verification, review, publicity, lottery, selection, leases, rent (bills, payments, vouchers, reconciliation), then the tenancy (review campaign, annual reviews, renewal, move-out) against the running `make run`
	$(PY) -m devstack.demo

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .venv-checkov cdk.out build .pytest_cache
