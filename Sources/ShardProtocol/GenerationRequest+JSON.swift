extension GenerationRequest {
    /// The request as a JSON body that ``GenerationRequest/parse(_:)`` reads back as the same request (the prompt
    /// under both `prompt_context` and `prompt`, so any sidecar version finds it).
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "max_new_tokens": .int(Int64(maxNewTokens)), "min_tokens": .int(Int64(minTokens)),
            "temperature": .double(temperature), "top_k": .int(Int64(topK)), "top_p": .double(topP),
        ]
        if let requestID { object["request_id"] = .string(requestID.rawValue) }
        if let prompt {
            object["prompt_context"] = .string(prompt)
            object["prompt"] = .string(prompt)
        }
        if let messages { object["messages"] = .array(messages.map(\.json)) }
        if let inputTokenIDs { object["input_token_ids"] = .array(inputTokenIDs.map { .int(Int64($0)) }) }
        if let tokenizer { object["tokenizer"] = .string(tokenizer) }
        if let model { object["model"] = .string(model) }
        if let seed { object["seed"] = .int(Int64(bitPattern: seed)) }
        if !stop.isEmpty { object["stop"] = .array(stop.map { .string($0) }) }
        if let stream { object["stream"] = .bool(stream) }
        if let sdk { object["sdk"] = .string(sdk) }
        return .object(object)
    }
}
