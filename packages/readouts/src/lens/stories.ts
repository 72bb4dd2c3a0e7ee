/**
 * Short TinyStories-style texts (written for this package), for training and evaluating lenses on
 * stories260K-sized models: the training split and a held-out split never share a sentence.
 */
export const storyTexts = {
  train: [
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun.",
    "One day, Tom went to the park with his mom. He saw a big red ball and wanted to play with it.",
    "The cat was very happy. It jumped on the bed and took a long nap.",
    "Sam had a small dog named Max. Max liked to run and bark at the birds.",
    "Lily and Ben were best friends. They played with their toys every day.",
    "The little bird flew high in the sky. It sang a happy song to the sun.",
    "Mom made a big cake for the party. Everyone was very happy and said thank you.",
    "Once upon a time, there was a big tree in the forest. Many animals lived in the tree.",
    "Tim found a shiny rock in the garden. He showed it to his dad and smiled.",
    "The sun was hot, so Sue went to the pond. She saw a frog jump into the water.",
    "Anna wanted to help her mom. She cleaned her room and put away her toys.",
    "The boy was sad because he lost his ball. His friend helped him look for it.",
    "One day, a little bunny was hungry. It looked for a carrot in the garden.",
    "Ben liked to draw pictures. He drew a big blue fish and a yellow sun.",
    "The dog and the cat were friends. They played in the yard all day long.",
    "Lucy went to the store with her dad. They bought milk, bread and apples.",
    "There was a little car that could go very fast. It raced down the hill.",
    "The girl had a pretty dress. It was pink and had flowers on it.",
    "Once upon a time, a bear lived in a cave. He liked to eat honey.",
    "Max saw a big box. He opened it and found a toy train inside.",
    "It was a rainy day. Lily stayed inside and read a book with her mom.",
    "The duck swam in the pond. It said quack and looked for food.",
    "Tom was scared of the dark. His mom gave him a hug and turned on the light.",
    "The children went to the beach. They built a big sand castle by the sea.",
  ],
  heldOut: [
    "Once upon a time, there was a boy named Jack. He liked to play with his blocks.",
    "The little girl saw a butterfly. It was yellow and it flew over the flowers.",
    "One day, Sara went to the farm. She saw a cow, a pig and a horse.",
    "The kitten was lost. A kind man found it and took it home.",
    "Ben and his sister made a snowman. They gave it a hat and a carrot nose.",
    "Mia had a new doll. She took it to the park to show her friends.",
  ],
} as const;
