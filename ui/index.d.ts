/** The directory of the built UI (index.html and its hashed assets). */
export declare const uiDir: string
