# The two commands of the README: `make serve` and `make test`. Both set up a virtual
# environment on first use (VENV, default .venv) with the project installed in editable mode.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml server/wire/* | cksum | cut -d" " -f1)

.PHONY: serve test bench stubs lint-proto

$(STAMP): pyproject.toml $(wildcard server/wire/*)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

serve: $(STAMP)
	$(VENV)/bin/trackstore serve $(ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(ARGS)

bench: $(STAMP)
	$(VENV)/bin/python bench/run.py $(ARGS)

# Regenerates the committed Python stubs from proto/ (tests/test_stubs.py checks they match).
stubs: $(STAMP)
	$(VENV)/bin/python clients/python/generate_stubs.py

lint-proto: $(STAMP)
	$(VENV)/bin/buf lint proto

# Fails when proto/ breaks the contract of PROTO_BASE's proto/ (default: the previous commit),
# as tests/test_proto_contract.py does. A breaking change must be deliberate: a new package
# version (proto/trackstore/v2/, package trackstore.v2) beside the published v1.
.PHONY: breaking-proto
PROTO_BASE ?= HEAD~1
breaking-proto: $(STAMP)
	$(VENV)/bin/buf breaking proto --against '.git#ref=$(PROTO_BASE),subdir=proto'

# ---------------------------------------------------------------------------------------------
# Stubs and example programs in Go, Ruby, C++ and Java, generated from proto/ with the protoc
# plugins Debian packages (`.ci/run` installs them; clients/examples/README.md says which).
# Everything lands in POLYGLOT, never committed; nothing is downloaded: Go builds in GOPATH
# mode against Debian's sources in /usr/share/gocode, Java against the jars in /usr/share/java.
#
#   make stubs-all                          # generate and compile the stubs of all four
#   make example-go ARGS="localhost:50051"  # build and run one example: TARGET [SCOPE]
POLYGLOT ?= build/polyglot
PROTOS := $(sort $(wildcard proto/trackstore/*/*.proto))
PROTOC := protoc -Iproto

.PHONY: stubs-all stubs-go stubs-ruby stubs-cpp stubs-java examples-all \
	example-go example-ruby example-cpp example-java

stubs-all: stubs-go stubs-ruby stubs-cpp stubs-java

# Debian's gRPC 1.51 C++ and Ruby plugins crash on a dollar sign in a service comment
# (grpc/grpc#32171), and ours name OData's query options: those two plugins read the contract
# from a descriptor set without comments (their generated services carry none).
CONTRACT_SET := $(POLYGLOT)/contract.binpb

$(CONTRACT_SET): $(PROTOS)
	mkdir -p $(POLYGLOT)
	$(PROTOC) --include_imports --descriptor_set_out=$@ $(PROTOS)

examples-all: example-go example-ruby example-cpp example-java

# Go: GOPATH mode, the stubs under their go_package import path, the cache in the build dir.
GO_DIR := $(POLYGLOT)/go
GO_ENV := GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH=$(abspath $(GO_DIR)):/usr/share/gocode \
	GOCACHE=$(abspath $(GO_DIR))/cache
GO_PACKAGE := github.com/trackstore/trackstore/gen/go/trackstore/v1

stubs-go: $(PROTOS)
	mkdir -p $(GO_DIR)/src
	$(PROTOC) --go_out=$(GO_DIR)/src --go-grpc_out=$(GO_DIR)/src $(PROTOS)
	$(GO_ENV) go build $(GO_PACKAGE)

example-go: stubs-go
	cd clients/examples/go && $(GO_ENV) go build -o $(abspath $(GO_DIR))/bin/example .
	$(GO_DIR)/bin/example $(ARGS)

# Ruby: the generated files need only the google-protobuf and grpc gems (ruby-grpc).
RUBY_DIR := $(POLYGLOT)/ruby

stubs-ruby: $(CONTRACT_SET)
	mkdir -p $(RUBY_DIR)
	protoc --descriptor_set_in=$(CONTRACT_SET) --ruby_out=$(RUBY_DIR) --grpc_out=$(RUBY_DIR) \
		--plugin=protoc-gen-grpc=$$(command -v grpc_ruby_plugin) $(PROTOS:proto/%=%)
	ruby -I$(RUBY_DIR) $(foreach f,$(PROTOS:proto/%.proto=%),-r$(f)_services_pb) -e ''

example-ruby: stubs-ruby
	ruby -I$(RUBY_DIR) clients/examples/ruby/example.rb $(ARGS)

# C++: one object per generated file, so `make -j` compiles them side by side.
CPP_DIR := $(POLYGLOT)/cpp
CPP_GENERATED := $(foreach f,$(PROTOS:proto/%.proto=$(CPP_DIR)/%),$(f).pb.cc $(f).grpc.pb.cc)
CPP_OBJECTS := $(CPP_GENERATED:.cc=.o)
CXXFLAGS ?= -O1
CPP_FLAGS = -std=c++17 $(CXXFLAGS) -I$(CPP_DIR) $$(pkg-config --cflags grpc++ protobuf)

stubs-cpp: $(CPP_OBJECTS)

$(CPP_GENERATED) &: $(PROTOS) $(CONTRACT_SET)
	mkdir -p $(CPP_DIR)
	$(PROTOC) --cpp_out=$(CPP_DIR) $(PROTOS)
	protoc --descriptor_set_in=$(CONTRACT_SET) --grpc_out=$(CPP_DIR) \
		--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) $(PROTOS:proto/%=%)

$(CPP_DIR)/%.o: $(CPP_DIR)/%.cc
	$(CXX) $(CPP_FLAGS) -c $< -o $@

$(CPP_DIR)/example: clients/examples/cpp/example.cc $(CPP_OBJECTS)
	$(CXX) $(CPP_FLAGS) $^ -o $@ $$(pkg-config --libs grpc++ protobuf)

example-cpp: $(CPP_DIR)/example
	$(CPP_DIR)/example $(ARGS)

# Java: grpc-java and protobuf-java from Debian (libgrpc-java, libprotobuf-java), what they
# need at run time (netty, guava, perfmark, gson), and javax.annotation.Generated, which the
# generated services carry and JDK 11+ no longer has (geronimo-annotation-1.3-spec).
JAVA_DIR := $(POLYGLOT)/java
JAVA_JARS := grpc-api grpc-context grpc-core grpc-netty grpc-protobuf grpc-protobuf-lite \
	grpc-stub protobuf protobuf-util guava perfmark-api gson geronimo-annotation-1.3-spec netty-buffer \
	netty-codec netty-codec-http netty-codec-http2 netty-common netty-handler netty-resolver \
	netty-transport
JAVA_CLASSPATH := $(JAVA_DIR)/classes:$(subst $() ,:,$(JAVA_JARS:%=/usr/share/java/%.jar))

stubs-java: $(PROTOS)
	rm -rf $(JAVA_DIR) && mkdir -p $(JAVA_DIR)/src
	$(PROTOC) --java_out=$(JAVA_DIR)/src --grpc-java_out=$(JAVA_DIR)/src \
		--plugin=protoc-gen-grpc-java=$$(command -v grpc_java_plugin) $(PROTOS)
	javac -nowarn -d $(JAVA_DIR)/classes -cp $(JAVA_CLASSPATH) $$(find $(JAVA_DIR)/src -name '*.java')

example-java: stubs-java
	javac -d $(JAVA_DIR)/classes -cp $(JAVA_CLASSPATH) clients/examples/java/Example.java
	java -cp $(JAVA_CLASSPATH) Example $(ARGS)
