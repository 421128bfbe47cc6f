/**
 * Protobuf messages as the requests and responses of Baton's typed methods:
 * {@link dev.baton.protobuf.ProtobufCodec} is a {@link dev.baton.Codec} for one message type.
 */
module dev.baton.protobuf {
    requires transitive dev.baton;              // Codec, Message
    requires transitive com.google.protobuf;    // MessageLite, Parser in the API

    exports dev.baton.protobuf;
}
