import protobuf from 'protobufjs';

// The subset of onnx.proto (proto2, package onnx) that framewise reads and writes: enough to
// read a model's metadata_props (Ultralytics writes class names, task and image size there,
// and onnxruntime-node does not expose them) and to write the self-made test model. Field
// numbers are onnx.proto's; fields not listed here are skipped when decoding, so a full
// model decodes fine.
const modelFields: Record<string, protobuf.IField & { rule?: string }> = {
  irVersion: { type: 'int64', id: 1 },
  producerName: { type: 'string', id: 2 },
  opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
  metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
};

const schema: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        Dimension: {
          fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
        },
        TensorTypeProto: {
          fields: {
            elemType: { type: 'int32', id: 1 },
            shape: { type: 'TensorShapeProto', id: 2 },
          },
        },
        TypeProto: {
          fields: { tensorType: { type: 'TensorTypeProto', id: 1 } },
        },
        ValueInfoProto: {
          fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        ModelProto: {
          fields: {
            ...modelFields,
            producerVersion: { type: 'string', id: 3 },
            graph: { type: 'GraphProto', id: 7 },
          },
        },
        // Reading metadata only: the graph (field 7, most of the file) is not decoded into nodes
        // and weights. Kept as bytes: on a Buffer protobufjs returns a view, so it costs no copy.
        ModelHeaderProto: {
          fields: { ...modelFields, graph: { type: 'bytes', id: 7 } },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(schema);

/** onnx.ModelProto (subset), for writing models. */
export const ModelProto = root.lookupType('onnx.ModelProto');
/** onnx.ModelProto without its graph, for reading a model's header and metadata cheaply. */
export const ModelHeaderProto = root.lookupType('onnx.ModelHeaderProto');

/** TensorProto.DataType values used here. */
export const OnnxDataType = { FLOAT: 1, INT64: 7 } as const;

/** AttributeProto.AttributeType values used here. */
export const OnnxAttributeType = { INT: 2 } as const;
