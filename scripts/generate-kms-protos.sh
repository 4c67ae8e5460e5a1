#!/usr/bin/env bash
# Regenerates Sources/AtRest/KMS/Generated from the KMS plugin API definitions of
# Kubernetes (k8s.io/kms, `apis/v2/api.proto` and `apis/v1beta1/api.proto`).
#
#   scripts/generate-kms-protos.sh DIR
#
# DIR is the `apis` folder of a k8s.io/kms checkout (kubernetes/kubernetes:
# staging/src/k8s.io/kms/apis), holding v2/api.proto and v1beta1/api.proto.
# The protoc plugins are built from this package's own pinned swift-protobuf and
# grpc-swift-protobuf, so the generated code matches the runtime it is built
# against. Needs protoc (Debian: protobuf-compiler). The output is committed:
# a normal build never runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
apis=${1:?usage: scripts/generate-kms-protos.sh K8S_KMS_APIS_DIR}
for proto in v2/api.proto v1beta1/api.proto; do
  [ -f "$apis/$proto" ] || { echo "generate-kms-protos.sh: $apis/$proto not found" >&2; exit 2; }
done
command -v protoc >/dev/null || { echo "generate-kms-protos.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 2; }
scratch=.build-protoc
swift build -c release --scratch-path "$scratch" --product protoc-gen-swift
swift build -c release --scratch-path "$scratch" --product protoc-gen-grpc-swift-2
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
out=Sources/AtRest/KMS/Generated
rm -f "$out"/*.swift
# FileNaming=PathToUnderscores: both files are api.proto; v2_api.pb.swift and
# v1beta1_api.pb.swift keep them apart in one module. Internal: nothing generated
# leaves the KMS module. Only the client is generated: atrest never serves.
protoc --proto_path="$apis" \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --swift_out="$out" --swift_opt=FileNaming=PathToUnderscores,Visibility=Internal \
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
  --grpc-swift-2_out="$out" --grpc-swift-2_opt=FileNaming=PathToUnderscores,Visibility=Internal,Server=false,Client=true \
  v2/api.proto v1beta1/api.proto
ls -l "$out"
