/**
 * blit.proto's gRPC package definition built from the protobufjs JSON descriptor: what
 * @grpc/proto-loader's fromJSON builds, without computing up front what only gRPC reflection reads.
 * fromJSON also encodes the file descriptor and turns every method's and message's type into a
 * DescriptorProto object (protobufjs generates and compiles an encoder and a converter per
 * descriptor type with `new Function`, which V8's code cache cannot keep), and loading it loads
 * protobufjs's descriptor extension: together ~15-20 ms of every remote CLI run and of every blitd
 * start (DEVLOG 2026-11-21, h17). Those fields (a method's requestType, responseType and options; a
 * message's or enum's type and fileDescriptorProtos) are still there: non-enumerable getters that
 * build proto-loader's own definitions on first access. Serializers are the same as proto-loader's.
 * daemon/test/daemon/proto-descriptor.test.ts checks every field against fromJSON.
 */
import * as protobuf from 'protobufjs';
import type * as protoLoader from '@grpc/proto-loader';

type Full = protoLoader.PackageDefinition;

function serializer(cls: protobuf.Type): (arg: object) => Buffer {
  return (arg) => {
    if (Array.isArray(arg)) throw new Error(`Failed to serialize message: expected object with ${cls.name} structure, got array instead`);
    return cls.encode(cls.fromObject(arg)).finish() as Buffer;
  };
}

function deserializer(cls: protobuf.Type, options: protoLoader.Options): (buf: Buffer) => object {
  return (buf) => cls.toObject(cls.decode(buf), options);
}

/**
 * Defines `keys` on `target` as getters reading the same keys of `source()`. Not enumerable: grpc-js
 * copies every enumerable field of a method definition onto the client's method (Object.assign in
 * makeClientConstructor), which would build the full definitions in every process.
 */
function lazyFields(target: object, keys: string[], source: () => Record<string, unknown>): void {
  for (const key of keys) Object.defineProperty(target, key, { enumerable: false, configurable: true, get: () => source()[key] });
}

/** Same names and objects as proto-loader's getAllHandledReflectionObjects (nested types are not descended). */
function handledObjects(ns: protobuf.NamespaceBase, parent: string, out: [string, protobuf.ReflectionObject][]): void {
  for (const obj of ns.nestedArray) {
    const name = parent === '' ? obj.name : `${parent}.${obj.name}`;
    if (obj instanceof protobuf.Service || obj instanceof protobuf.Type || obj instanceof protobuf.Enum) out.push([name, obj]);
    else if (obj instanceof protobuf.Namespace) handledObjects(obj, name, out);
  }
}

export function packageDefinition(json: protobuf.INamespace, options: protoLoader.Options): protoLoader.PackageDefinition {
  const root = protobuf.Root.fromJSON(json);
  root.resolveAll();
  let full: Full | undefined;
  const fullDef = (): Full => (full ??= (require('@grpc/proto-loader') as typeof protoLoader).fromJSON(json, options));
  const def: Record<string, unknown> = {};
  const objects: [string, protobuf.ReflectionObject][] = [];
  handledObjects(root, '', objects);
  for (const [name, obj] of objects) {
    if (obj instanceof protobuf.Service) {
      const service: Record<string, object> = {};
      for (const method of obj.methodsArray) {
        const req = method.resolvedRequestType!;
        const res = method.resolvedResponseType!;
        const m = {
          path: `/${name}/${method.name}`,
          requestStream: !!method.requestStream,
          responseStream: !!method.responseStream,
          requestSerialize: serializer(req),
          requestDeserialize: deserializer(req, options),
          responseSerialize: serializer(res),
          responseDeserialize: deserializer(res, options),
          // proto-loader uses lodash.camelcase; the test checks every method name gives the same.
          originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
        };
        lazyFields(m, ['requestType', 'responseType', 'options'], () => (fullDef()[name] as protoLoader.ServiceDefinition)[method.name] as never);
        service[method.name] = m;
      }
      def[name] = service;
    } else {
      const d: Record<string, unknown> = { format: obj instanceof protobuf.Type ? 'Protocol Buffer 3 DescriptorProto' : 'Protocol Buffer 3 EnumDescriptorProto' };
      lazyFields(d, ['type', 'fileDescriptorProtos'], () => fullDef()[name] as never);
      if (obj instanceof protobuf.Type) {
        d.serialize = serializer(obj);
        d.deserialize = deserializer(obj, options);
      }
      def[name] = d;
    }
  }
  return def as protoLoader.PackageDefinition;
}
