const todos = new Map();

export const handler = async (event) => {
  const id = event.pathParameters?.id;
  switch (event.httpMethod) {
    case "POST": {
      const todo = { id: String(todos.size + 1), ...JSON.parse(event.body || "{}") };
      todos.set(todo.id, todo);
      return { statusCode: 201, body: JSON.stringify(todo) };
    }
    case "DELETE":
      return { statusCode: todos.delete(id) ? 204 : 404, body: "" };
    default:
      return { statusCode: 200, body: JSON.stringify([...todos.values()]) };
  }
};
