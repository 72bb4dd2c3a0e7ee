/** `tokenize --bos`: prepend BOS or not (absent: the tokenizer's own rule). */
export const BOS_CHOICES = ["true", "false"] as const;
